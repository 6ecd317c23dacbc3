"""The paced player: a frame per tick, silence between utterances, barge-in within one frame,
and a clock that keeps an absolute 20 ms schedule without bursts."""

import asyncio
import itertools
import time

from calls.voice.audio import frame_size
from calls.voice.player import FrameClock, Player


def _encode(pcm: bytes, rate: int) -> bytes:
    return b"A" + pcm  # a marker byte stands in for the wire header


def _player(rate: int = 8000) -> tuple[Player, list[bytes]]:
    sent: list[bytes] = []
    return Player(rate, sent.append, _encode), sent


async def test_it_sends_silence_when_nothing_is_queued():
    player, sent = _player()
    for _ in range(3):
        player.tick()
    assert sent == [b"A" + bytes(320)] * 3


async def test_an_utterance_is_sent_frame_by_frame_then_silence_follows():
    player, sent = _player(16000)
    speech = b"\x01\x02" * (16000 * 50 // 1000)  # 50 ms: two whole frames and a half
    playback = player.play(speech)
    for _ in range(4):
        player.tick()
    assert [len(f) for f in sent] == [1 + frame_size(16000)] * 4
    assert sent[2].endswith(bytes(frame_size(16000) // 2))  # the last frame is padded
    assert sent[3] == b"A" + bytes(frame_size(16000))
    assert playback.done.done() and playback.done.result() == 60
    assert playback.interrupted is False


async def test_barge_in_stops_playback_at_the_next_frame_and_tells_what_was_heard():
    player, sent = _player()
    playback = player.play(b"\x10\x00" * 8000)  # one second
    for _ in range(5):
        player.tick()
    player.stop()
    player.tick()
    assert sent[-1] == b"A" + bytes(320)
    assert playback.interrupted is True
    assert await playback.done == 100


async def test_utterances_queue_one_after_another():
    player, sent = _player()
    first = player.play(b"\x01\x00" * 160)
    second = player.play(b"\x02\x00" * 160)
    player.tick()
    assert first.done.done() and not second.done.done()
    player.tick()
    assert second.done.done()
    assert sent[0][1:3] == b"\x01\x00" and sent[1][1:3] == b"\x02\x00"


async def test_the_clock_ticks_every_20_ms_without_drift():
    clock = FrameClock()
    player, sent = _player()
    clock.register(player)
    start = time.monotonic()
    clock.start()
    await asyncio.sleep(1.0)
    await clock.stop()
    elapsed = time.monotonic() - start
    # Never ahead of real time, and every 20 ms step accounted for: played, or skipped when a
    # busy machine held the loop back (a clock that drifts loses steps without counting them).
    assert len(sent) <= elapsed / 0.02 + 3
    assert abs(len(sent) + clock.skipped_ticks - elapsed / 0.02) <= 3


async def test_a_stalled_loop_skips_frames_instead_of_bursting():
    clock = FrameClock()
    stamps: list[float] = []
    player = Player(8000, lambda _frame: stamps.append(time.monotonic()), _encode)
    clock.register(player)
    clock.start()
    await asyncio.sleep(0.1)
    time.sleep(0.2)  # block the loop for ten frames, as a CPU-bound bug would
    await asyncio.sleep(0.2)
    await clock.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # After the stall the clock resumes its pace: never several frames in one instant.
    bursts = sum(1 for gap in gaps if gap < 0.005)
    assert bursts <= 1
    assert clock.skipped_ticks >= 8


async def test_a_failing_player_is_dropped_and_the_others_keep_their_pace():
    clock = FrameClock()
    good, sent = _player()

    def explode(_frame: bytes) -> None:
        raise RuntimeError("socket gone")

    bad = Player(8000, explode, _encode)
    clock.register(bad)
    clock.register(good)
    clock.start()
    await asyncio.sleep(0.2)
    await clock.stop()
    # Ten steps in 0.2 s, played or (on a busy machine) skipped; the good player got them.
    assert len(sent) >= 1 and len(sent) + clock.skipped_ticks >= 8


async def test_a_shutdown_cancelled_while_stopping_the_clock_stays_cancelled():
    """stop() waits for the clock, but a cancellation of its caller (a shutdown's time-out) is
    the caller's: it must go on up, not be swallowed as if it were the clock's own."""
    clock = FrameClock()
    clock.start()
    await asyncio.sleep(0.05)
    # Cancelled at its first await, inside stop(): before the fix the except clause that
    # expected the clock's CancelledError swallowed it and stop() returned normally.
    stopper = asyncio.create_task(clock.stop())
    await asyncio.sleep(0)
    stopper.cancel()
    done, _ = await asyncio.wait({stopper}, timeout=5)
    assert stopper in done and stopper.cancelled()
