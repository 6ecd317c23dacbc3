"""The caller's keypad: key presses gathered into entries, bounded in length, in rate and in
how many are recorded, so that a peer sending DTMF packets as fast as TCP carries them costs a
call slot for a moment, not the process. Pure: the caller passes the time."""

from .audiosocket.limits import Flood, TokenBucket

# The longest entry the bot takes: a phone number (E.164 allows 15 digits) or an order number.
MAX_ENTRY_DIGITS = 16
# A person presses at most 10-15 keys a second; Asterisk sends one packet per key.
KEYS_PER_SECOND = 15.0
KEY_BURST = 30
# Keys that came faster than that before the call is hung up as a flood.
FLOOD_KEYS = 100
# Key presses recorded as turns in one call: far more than any caller keys in.
MAX_RECORDED_KEYS = 200


class KeypadFlood(Flood):
    """More keys than a person can press: the message is the call's end reason."""


class Keypad:
    def __init__(self, now: float) -> None:
        self._rate = TokenBucket(KEYS_PER_SECOND, KEY_BURST, now)
        self._started = now
        self._entry: list[str] = []
        self.pressed = 0
        self.dropped = 0
        self.recorded = 0
        self.cut = 0  # digits past MAX_ENTRY_DIGITS, left out of their entry

    def allow(self, now: float) -> bool:
        """Whether this key counts; a key faster than a person presses is dropped, and too many
        of those raise KeypadFlood."""
        self.pressed += 1
        if self._rate.take(1, now):
            return True
        self.dropped += 1
        if self.dropped > FLOOD_KEYS:
            raise KeypadFlood(
                f"keypad flood: {self.pressed} keys in {max(now - self._started, 0.0):.1f} s, "
                f"more than {KEYS_PER_SECOND:g} a second"
            )
        return False

    def record(self) -> bool:
        """Whether this key press is recorded as a turn (the first MAX_RECORDED_KEYS are)."""
        if self.recorded >= MAX_RECORDED_KEYS:
            return False
        self.recorded += 1
        return True

    def add(self, digit: str) -> None:
        if len(self._entry) < MAX_ENTRY_DIGITS:
            self._entry.append(digit)
        else:
            self.cut += 1

    @property
    def entering(self) -> bool:
        return bool(self._entry)

    def finish(self) -> str:
        """The entry so far (at most MAX_ENTRY_DIGITS digits); the keypad starts a new one."""
        entry, self._entry = "".join(self._entry), []
        return entry
