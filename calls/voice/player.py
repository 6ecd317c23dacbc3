"""The paced player: every live call gets its next 20 ms frame on one process-wide clock tick.

Asterisk writes what AudioSocket receives straight to the channel with no jitter buffer, so
frames must leave at real-time pace: one every 20 ms against a monotonic clock, never a burst.
When the bot is silent the player sends silence, because carriers drop calls without media.
One clock task serves all calls: 50 wake-ups a second for the process instead of 50 per call.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from ..background import stop_task
from ..metrics import FRAME_CLOCK_LATENESS
from .audio import FRAME_MS, frame_size, split_frames

logger = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_MS / 1000


class Playback:
    """One utterance queued on a player; `done` resolves with the milliseconds actually played."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames: deque[bytes] = deque(frames)
        self.total_frames = len(frames)
        self.frames_played = 0
        self.first_frame_at: float | None = None  # loop (monotonic) time the first frame left
        self.interrupted = False
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def played_ms(self) -> int:
        return self.frames_played * FRAME_MS

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(self.played_ms)


class Player:
    """A call's outbound audio: queued utterances, else silence, one encoded frame per tick."""

    def __init__(
        self,
        sample_rate: int,
        send: Callable[[bytes], None],
        encode_frame: Callable[[bytes, int], bytes],
    ) -> None:
        self.sample_rate = sample_rate
        self._send = send
        self._encode = encode_frame
        self._silence = encode_frame(bytes(frame_size(sample_rate)), sample_rate)
        self._queue: deque[Playback] = deque()
        self.frames_sent = 0

    def play(self, pcm: bytes) -> Playback:
        """Queue PCM at the player's rate; it starts after what is already queued."""
        frames = [
            self._encode(frame, self.sample_rate) for frame in split_frames(pcm, self.sample_rate)
        ]
        playback = Playback(frames)
        if frames:
            self._queue.append(playback)
        else:
            playback._finish()
        return playback

    @property
    def is_playing(self) -> bool:
        return bool(self._queue)

    def stop(self) -> None:
        """Barge-in or hang-up: drop everything queued; the next tick sends silence."""
        while self._queue:
            playback = self._queue.popleft()
            playback.interrupted = bool(playback.frames)
            playback._finish()

    def tick(self) -> None:
        while self._queue and not self._queue[0].frames:
            self._queue.popleft()._finish()
        if self._queue:
            playback = self._queue[0]
            if playback.first_frame_at is None:
                playback.first_frame_at = time.monotonic()
            self._send(playback.frames.popleft())
            playback.frames_played += 1
            if not playback.frames:
                self._queue.popleft()._finish()
        else:
            self._send(self._silence)
        self.frames_sent += 1


class FrameClock:
    """Ticks every 20 ms against the loop's monotonic clock and feeds every registered player.

    The schedule is absolute (start + n × 20 ms), so a long reply never drifts. If the loop
    falls more than a frame behind, the missed ticks are skipped rather than sent as a burst.
    """

    def __init__(self, interval: float = FRAME_SECONDS) -> None:
        self.interval = interval
        self._players: set[Player] = set()
        self._task: asyncio.Task | None = None
        self.ticks = 0
        self.skipped_ticks = 0
        # time.monotonic() of the last tick, read by the health endpoint from another thread.
        self.last_tick: float | None = None

    def register(self, player: Player) -> None:
        self._players.add(player)

    def unregister(self, player: Player) -> None:
        self._players.discard(player)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="frame-clock")

    async def stop(self) -> None:
        """Bounded, and a cancellation of the caller is not taken for the clock's own."""
        if self._task is not None:
            await stop_task(self._task, timeout=1.0)
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            next_tick += self.interval
            delay = next_tick - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            FRAME_CLOCK_LATENESS.observe(max(0.0, loop.time() - next_tick))
            if -delay >= self.interval:
                missed = int(-delay // self.interval)
                next_tick += missed * self.interval
                self.skipped_ticks += missed
                logger.warning("frame clock fell %d frames behind; skipped them", missed)
            self.ticks += 1
            self.last_tick = time.monotonic()
            for player in list(self._players):
                try:
                    player.tick()
                except Exception:
                    # One broken call must not stop the clock that paces everyone else.
                    logger.exception("a player failed on its tick; removing it")
                    self._players.discard(player)


def heard_text(parts: list[tuple[str, Playback]]) -> str:
    """The words the caller heard: whole sentences played, and the played share of a cut one."""
    heard = []
    for sentence, playback in parts:
        if not playback.interrupted and playback.frames_played == playback.total_frames:
            heard.append(sentence)
            continue
        words = sentence.split()
        share = playback.frames_played / playback.total_frames if playback.total_frames else 0
        if spoken := words[: round(len(words) * share)]:
            heard.append(" ".join(spoken) + "…")
        break
    return " ".join(heard)
