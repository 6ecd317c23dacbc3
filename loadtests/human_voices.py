"""Build a human-voice test set from Debian's Asterisk prompts: what the STT benchmarks hear.

The Debian packages asterisk-core-sounds-en-wav and asterisk-core-sounds-ru-wav hold telephone
recordings of two human speakers (8 kHz, 16-bit); asterisk-core-sounds-en and -ru hold their
transcripts. From them this script writes, per language:

- prompts: whole sentences of 3-14 words ("Please enter your password followed by the pound key");
- short replies: one or two words a caller might say ("No.", "Thank you.", "Goodbye!") and names
  (the phonetic alphabet's "Romeo", "Victor", "Juliet"), where Whisper tends to hallucinate;
- digit sequences spliced from digits/*.wav the way callers say them: phone numbers in groups
  ("zero six seven, one two three, forty five, sixty seven"), order numbers digit by digit
  and tire sizes ("two oh five, fifty five, R sixteen").

Every item then takes the telephone path: G.711 mu-law round trip at 8 kHz, as Asterisk sends it.
The audio and a manifest.json go to loadtests/results/human-voices/ (gitignored; rebuild it from
the packages, never commit it):

    apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-ru-wav \
        asterisk-core-sounds-en asterisk-core-sounds-ru
    python loadtests/human_voices.py

No human Ukrainian recordings exist in Debian or PyPI; Ukrainian is measured on espeak-ng only.
"""

import argparse
import audioop  # the exact G.711 codec of the telephone path (gone in Python 3.13)
import gzip
import json
import random
import re
import sys
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOUNDS = Path("/usr/share/asterisk/sounds")
TRANSCRIPTS = "/usr/share/doc/asterisk-core-sounds-{0}/core-sounds-{0}.txt.gz"
RATE = 8000

# Short replies and names: (sound, text). The texts are the packages' own transcripts.
SHORT = {
    "en": ["vm-no", "auth-thankyou", "goodbye", "hello", "im-sorry", "cancelled", "number",
           "telephone-number", "pbx-transfer", "extension", "minutes", "location"],
    "ru": ["vm-no", "auth-thankyou", "goodbye", "hello", "im-sorry", "cancelled", "number",
           "pbx-transfer", "dictate/record", "one-moment-please", "priv-recordintro", "seconds"],
}  # fmt: skip
NAMES = ["phonetic/r_p", "phonetic/v_p", "phonetic/j_p", "phonetic/o_p", "phonetic/m_p",
         "phonetic/c_p", "phonetic/s_p", "phonetic/l_p"]  # fmt: skip
PROMPTS_PER_LANGUAGE = 30

# How numbers are spoken, per language: a group of digits -> the digits/*.wav words.
ONES = {str(n): f"digits/{n}" for n in range(20)}


def spoken_group(group: str, language: str) -> list[str]:
    """The sound files for one group as a caller says it: "45" -> forty five, "067" -> zero
    sixty seven, "123" -> one twenty three (en) / сто двадцать три (ru), single digits as is."""
    if len(group) == 1 or group.startswith("0"):
        head = [ONES[group[0]]]
        return head + (spoken_group(group[1:], language) if len(group) > 1 else [])
    if len(group) == 2:
        tens, unit = int(group) // 10 * 10, int(group) % 10
        if int(group) < 20:
            return [ONES[group]]
        return [f"digits/{tens}"] + ([ONES[str(unit)]] if unit else [])
    if len(group) == 3 and language == "ru" and group[0] == "1":
        return ["digits/hundred"] + (spoken_group(group[1:], language) if group[1:] != "00" else [])
    # en "123" -> one twenty three, "205" -> two oh five; ru "205" -> два ноль пять
    rest = group[1:]
    head = [ONES[group[0]]]
    if rest[0] == "0":
        zero = "digits/oh" if language == "en" else "digits/0"
        return [*head, zero, ONES[rest[1]]]
    return head + spoken_group(rest, language)


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        if wav.getframerate() != RATE or wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise SystemExit(f"{path}: expected 8 kHz 16-bit mono")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def trimmed(samples: np.ndarray, threshold: int = 300) -> np.ndarray:
    """Without the file's leading and trailing silence, so spliced words run like speech."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return samples
    return samples[max(0, loud[0] - 160) : loud[-1] + 160]


def gap(ms: int) -> np.ndarray:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def splice(language: str, groups: list[list[str]]) -> np.ndarray:
    """Words 60 ms apart, groups 250 ms apart, as a caller reads a number off a card."""
    parts = [gap(200)]
    for group in groups:
        for sound in group:
            parts += [trimmed(read_pcm(SOUNDS / language / f"{sound}.wav")), gap(60)]
        parts.append(gap(190))
    return np.concatenate(parts)


def phone_path(samples: np.ndarray) -> np.ndarray:
    """Through G.711 mu-law and back, as a call through Asterisk hears it."""
    pcm = samples.astype("<i2").tobytes()
    return np.frombuffer(audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2), dtype="<i2")


def digit_items(language: str, rng: random.Random) -> list[dict]:
    """8 phone numbers, 7 order numbers, 7 tire sizes: 22 digit sequences a language."""
    items = []
    for _ in range(8):
        number = f"0{rng.choice('5679')}{rng.randint(0, 9)}{rng.randint(0, 9999999):07d}"
        groups = [number[:3], number[3:6], number[6:8], number[8:]]
        items.append(("phone", number, groups))
    for _ in range(7):
        number = str(rng.randint(1000, 999999))
        items.append(("order_number", number, list(number)))  # digit by digit
    for _ in range(7):
        width = rng.choice([175, 185, 195, 205, 215, 225, 235])
        profile, rim = rng.choice([40, 45, 50, 55, 60, 65, 70]), rng.randint(13, 19)
        items.append(("size", f"{width}{profile}{rim}", [str(width), str(profile), f"R{rim}"]))
    out = []
    for kind, digits, groups in items:
        sounds = [
            ["letters/r", ONES[g[1:]]] if g.startswith("R") else spoken_group(g, language)
            for g in groups
        ]
        written = " ".join(groups) if kind != "size" else f"{groups[0]}/{groups[1]} {groups[2]}"
        out.append({"kind": kind, "text": written, "digits": digits, "sounds": sounds})
    return out


def transcripts(language: str) -> dict[str, str]:
    lines = gzip.open(TRANSCRIPTS.format(language), "rt", encoding="utf-8").read().splitlines()
    found = {}
    for line in lines:
        name, sep, text = line.partition(": ")
        if sep and not line.startswith(";"):
            found[name.strip()] = text.strip()
    return found


def prompt_names(language: str, texts: dict[str, str]) -> list[str]:
    """Sentences of 3-14 words with nothing a transcript marks as a sound or leaves unfinished."""
    chosen = []
    for name, text in sorted(texts.items()):
        if "/" in name or re.search(r"[\[\]<>\d*#«»\"]|\.\.\.|…", text):
            continue
        if 3 <= len(text.split()) <= 14 and (SOUNDS / language / f"{name}.wav").is_file():
            chosen.append(name)
    return random.Random(language).sample(chosen, min(PROMPTS_PER_LANGUAGE, len(chosen)))


def build(output: Path) -> list[dict]:
    output.mkdir(parents=True, exist_ok=True)
    manifest = []
    for language in ("en", "ru"):
        texts = transcripts(language)
        recorded = [("prompt", n) for n in prompt_names(language, texts)]
        recorded += [("short", n) for n in SHORT[language]] + [("name", n) for n in NAMES]
        entries = []
        for kind, name in recorded:
            samples = read_pcm(SOUNDS / language / f"{name}.wav")
            text = re.sub(r"^[\w-]+: ", "", texts[name])  # one transcript repeats its name
            entries.append({"kind": kind, "text": text, "source": name, "samples": samples})
        for item in digit_items(language, random.Random(f"digits-{language}")):
            samples = splice(language, item.pop("sounds"))
            entries.append({**item, "source": "digits/*", "samples": samples})
        for index, entry in enumerate(entries):
            samples = phone_path(entry.pop("samples"))
            file = f"{language}-{index:03d}-{entry['kind']}.wav"
            with wave.open(str(output / file), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(RATE)
                wav.writeframes(samples.astype("<i2").tobytes())
            manifest.append(
                {"file": file, "language": language, **entry,
                 "seconds": round(len(samples) / RATE, 2)}
            )  # fmt: skip
    (output / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(ROOT / "loadtests/results/human-voices"))
    args = parser.parse_args()
    for language in ("en", "ru"):
        if not (SOUNDS / language / "digits/0.wav").is_file():
            raise SystemExit(f"install asterisk-core-sounds-{language}-wav (and -{language})")
    manifest = build(Path(args.output))
    for language in ("en", "ru"):
        kinds: dict[str, int] = {}
        for item in manifest:
            if item["language"] == language:
                kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        print(language, kinds)
    print(f"{len(manifest)} items in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
