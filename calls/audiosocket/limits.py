"""Limits on what a peer may send: a token bucket for rates, and a log that says a repeated
warning once per interval with a count instead of once per connection or packet.

Pure and clock-driven (the caller passes the time), so the rules are tested without waiting.
"""

import logging
from dataclasses import dataclass


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; starts full."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("a token bucket needs a positive rate and burst")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._stamp = now

    def take(self, amount: float, now: float) -> bool:
        """Spend `amount` tokens if there are that many; False (nothing spent) if not."""
        if now > self._stamp:
            self.tokens = min(self.burst, self.tokens + (now - self._stamp) * self.rate)
            self._stamp = now
        if self.tokens >= amount:
            self.tokens -= amount
            return True
        return False


@dataclass
class _Window:
    opened: float
    suppressed: int = 0


class ThrottledLog:
    """The first warning of a kind goes out at once; more of the same kind within `interval`
    seconds are only counted, and the count is logged as one line when the next one comes
    after the interval, or when `flush` is called (the server calls it on a timer)."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._windows: dict[str, _Window] = {}

    def warning(self, kind: str, now: float, message: str, *args) -> None:
        window = self._windows.get(kind)
        if window is not None and now - window.opened < self.interval:
            window.suppressed += 1
            return
        self._summarise(kind, window)
        self._windows[kind] = _Window(now)
        self.logger.warning(message, *args)

    def flush(self, now: float) -> None:
        """Log the counts of windows that are over."""
        for kind, window in list(self._windows.items()):
            if now - window.opened >= self.interval:
                self._summarise(kind, window)
                del self._windows[kind]

    def _summarise(self, kind: str, window: _Window | None) -> None:
        if window is not None and window.suppressed:
            self.logger.warning(
                "%d more like the last (%s) in %g s", window.suppressed, kind, self.interval
            )
