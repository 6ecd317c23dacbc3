"""The comparison the real-PBX greeting test relies on: it finds a greeting that reached the
recording unchanged, late frames and all, and misses one that was silenced, cut, resampled,
re-levelled, clipped, garbled or shifted."""

import numpy as np
import pytest

from calls.voice.audio import resample, split_frames
from calls.voice.tts import EspeakNGEngine
from tests.helpers.audio_match import find_frames, find_in_order, speech_frames

RATE = 8000


@pytest.fixture(scope="module")
def greeting() -> list[bytes]:
    engine = EspeakNGEngine()
    return [
        engine.synthesize(text, "en", RATE)
        for text in ("Hello!", "You have reached Tire Shop.", "How can I help you?")
    ]


def quiet(ms: int) -> bytes:
    return bytes(RATE * ms // 1000 * 2)


def as_recorded(sentences: list[bytes], gap_every: int = 0) -> bytes:
    """The sentences as a lossless path records them: 20 ms frames, silence before, between
    and after, and (gap_every) a late frame's gap of silence now and then."""
    audio = [quiet(700)]
    for sentence in sentences:
        for n, frame in enumerate(split_frames(sentence, RATE), start=1):
            audio.append(frame)
            if gap_every and n % gap_every == 0:
                audio.append(quiet(20 * (1 + n % 3)) + bytes(2 * (n % 7)))  # not frame-sized
        audio.append(quiet(300))
    return b"".join(audio)


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int32)


def pcm(values: np.ndarray) -> bytes:
    return np.clip(values, -32768, 32767).astype("<i2").tobytes()


def found(sentences: list[bytes], heard: bytes):
    return find_in_order(sentences, heard, RATE)


def all_found(sentences: list[bytes], heard: bytes) -> bool:
    return all(m.missing == 0 and m.frames > 0 for m in found(sentences, heard))


def test_a_greeting_recorded_unchanged_is_found_whole(greeting):
    assert all_found(greeting, as_recorded(greeting))


@pytest.mark.parametrize("gap_every", [1, 4])
def test_late_frames_with_silence_between_them_still_count_as_unchanged(greeting, gap_every):
    heard = as_recorded(greeting, gap_every)
    matches = found(greeting, heard)
    assert all(m.missing == 0 for m in matches), [str(m) for m in matches]
    assert sum(m.breaks for m in matches) > 10  # the gaps were there, and crossed


def test_a_silent_greeting_is_not_found(greeting):
    silent = [bytes(len(s)) for s in greeting]
    assert not all_found(greeting, as_recorded(silent))
    assert sum(m.found for m in found(greeting, as_recorded(silent))) == 0


def test_a_truncated_greeting_is_not_found(greeting):
    cut = [*greeting[:-1], greeting[-1][: len(greeting[-1]) // 2]]
    matches = found(greeting, as_recorded(cut))
    assert matches[-1].missing >= 10, str(matches[-1])


def test_a_greeting_missing_a_frame_of_speech_is_not_found(greeting):
    frames = split_frames(greeting[1], RATE)
    loudest = max(range(len(frames)), key=lambda n: np.abs(samples(frames[n])).max())
    dropped = [greeting[0], b"".join(frames[:loudest] + frames[loudest + 1 :]), greeting[2]]
    matches = found(greeting, as_recorded(dropped))
    assert matches[1].missing == 1, str(matches[1])


def test_a_greeting_out_of_order_is_not_found(greeting):
    assert not all_found(greeting, as_recorded(list(reversed(greeting))))


@pytest.mark.parametrize("path_rate", [16000, 11025, 7900])
def test_a_greeting_that_went_through_another_rate_is_not_found(greeting, path_rate):
    # Through a 16 kHz leg and back: the kind of change a lossless path must not make.
    resampled = [resample(resample(s, RATE, path_rate), path_rate, RATE) for s in greeting]
    matches = found(greeting, as_recorded(resampled))
    assert sum(m.found for m in matches) == 0, [str(m) for m in matches]


def test_a_greeting_played_at_the_wrong_rate_is_not_found(greeting):
    # 8 kHz audio taken as 16 kHz: it plays at half length, every other sample.
    fast = [resample(s, 2 * RATE, RATE) for s in greeting]
    assert sum(m.found for m in found(greeting, as_recorded(fast))) == 0


@pytest.mark.parametrize("gain", [0.5, 0.9, 1.1, 2.0])
def test_a_re_levelled_or_clipped_greeting_is_not_found(greeting, gain):
    levelled = [pcm(np.round(samples(s) * gain)) for s in greeting]
    matches = found(greeting, as_recorded(levelled))
    assert sum(m.found for m in matches) == 0, [str(m) for m in matches]


def test_a_greeting_with_one_bit_of_noise_is_not_found(greeting):
    rng = np.random.default_rng(15)
    noisy = [pcm(samples(s) + rng.integers(-1, 2, len(s) // 2)) for s in greeting]
    matches = found(greeting, as_recorded(noisy))
    assert sum(m.found for m in matches) == 0, [str(m) for m in matches]


def test_a_greeting_through_g711_is_not_found(greeting):
    # mu-law's 8 bits per sample: a transcoded leg in the path.
    def mulaw_round_trip(values: np.ndarray) -> np.ndarray:
        x = values / 32768.0
        encoded = np.sign(x) * np.log1p(255 * np.abs(x)) / np.log1p(255)
        quantised = np.round(encoded * 127) / 127
        return np.sign(quantised) * (np.power(256, np.abs(quantised)) - 1) / 255 * 32768

    transcoded = [pcm(np.round(mulaw_round_trip(samples(s)))) for s in greeting]
    matches = found(greeting, as_recorded(transcoded))
    assert sum(m.found for m in matches) == 0, [str(m) for m in matches]


def test_a_greeting_shifted_by_one_byte_is_not_found(greeting):
    heard = as_recorded(greeting)
    assert sum(m.found for m in found(greeting, b"\0" + heard[:-1])) == 0


def test_another_rendering_of_the_same_words_is_not_found(greeting):
    # espeak-ng renders the same text differently depending on what it said before in the
    # process (its pitch flutter runs on across utterances): a reference that is not the
    # server's own audio must not pass for it.
    engine = EspeakNGEngine()
    again = [engine.synthesize("Hello!", "en", RATE) for _ in range(3)]
    others = [a for a in again if a != greeting[0]]
    assert others, "espeak-ng rendered 'Hello!' the same four times"
    match = find_frames(greeting[0], as_recorded(others[:1]), RATE)
    assert match.found < match.frames // 2, str(match)


def test_nothing_to_compare_is_not_a_match():
    assert speech_frames(quiet(500), RATE) == []
    assert find_frames(quiet(500), quiet(2000), RATE).frames == 0
