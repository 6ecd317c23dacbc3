"""Limits on what a peer may send and on what its flood may cost: a token bucket for rates, a
call's inbound audio held to real time, a log that says a repeated warning once per interval
with a count (not once per connection or packet), and the process's open-file limit (and what
asyncio reports when it runs out).

Clock-driven (the caller passes the time), so the rules are tested without waiting.
"""

import errno
import logging
from dataclasses import dataclass


class Flood(Exception):
    """A peer sends faster than any phone call can: the message is the call's end reason."""


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


# Audio may arrive ahead of real time by this much (Asterisk catching up after a network hiccup);
# what comes faster is dropped, and this much dropped audio makes the call a flood.
AUDIO_SLACK_MS = 2000
AUDIO_FLOOD_MS = 5000


class RealTimeAudio:
    """A call's inbound audio, admitted at real time plus a little slack: a phone line cannot
    deliver faster, and audio that does would cost every other call VAD and STT time."""

    def __init__(
        self, now: float, slack_ms: int = AUDIO_SLACK_MS, flood_ms: int = AUDIO_FLOOD_MS
    ) -> None:
        self._bucket = TokenBucket(1000.0, slack_ms, now)  # milliseconds of audio a second
        self._started = now
        self.flood_ms = flood_ms
        self.received_ms = 0.0
        self.dropped_ms = 0.0

    def admit(self, duration_ms: float, now: float) -> bool:
        """Whether a frame of `duration_ms` is taken; False drops it. Raises Flood once
        `flood_ms` of audio has come in faster than real time."""
        self.received_ms += duration_ms
        if self._bucket.take(duration_ms, now):
            return True
        self.dropped_ms += duration_ms
        if self.dropped_ms >= self.flood_ms:
            elapsed = max(now - self._started, 0.001)
            raise Flood(
                f"audio flood: {self.dropped_ms / 1000:.1f} s of audio ahead of real time "
                f"({self.received_ms / 1000:.1f} s in {elapsed:.1f} s of call)"
            )
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


def raise_file_limit(needed: int) -> tuple[int, int]:
    """Raise this process's soft limit on open files towards `needed` (never above the hard
    limit); returns the (soft, hard) limits now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


# What asyncio's accept loop calls "out of system resource": it reports each failed accept to
# the loop's exception handler (with a traceback, up to `backlog` of them per tick) and retries.
ACCEPT_OUT_OF_RESOURCE = "socket.accept() out of system resource"
OUT_OF_RESOURCE_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def accept_out_of_resource(context: dict) -> OSError | None:
    """The error, if an event loop exception `context` is a failed accept for want of open
    files (or buffers or memory); None for anything else."""
    error = context.get("exception")
    if context.get("message") != ACCEPT_OUT_OF_RESOURCE or not isinstance(error, OSError):
        return None
    return error if error.errno in OUT_OF_RESOURCE_ERRNOS else None
