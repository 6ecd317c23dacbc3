"""The voice pipeline: audio utilities, speech engines, the paced player."""
