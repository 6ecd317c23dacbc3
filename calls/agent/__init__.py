"""The dialogue agent: caller text in, reply text and actions out."""
