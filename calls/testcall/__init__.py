"""Test calls from the admin: staff talk to the bot from the browser (voice over a websocket into
the same CallSession pipeline as AudioSocket calls, or text chat with the agent alone)."""
