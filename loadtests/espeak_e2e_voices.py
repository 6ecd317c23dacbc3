"""Build the espeak-ng set of what the E2E tests' callers say: the synthetic voice the test suite
and the load test speak with, at 8 kHz, as the STT benchmarks hear it next to the human set.

Every line a test caller says (tests/e2e, tests/voice: espeak-ng at 130 words a minute, the
`caller_voice` helper) is synthesised at the call's rate, and the Asterisk build's scripted
callers' own recordings (sounds/caller/*.wav in ../shared/asterisk/asterisk-min-*.tar.gz, also
espeak-ng) are added as they are when the tarball is found. Each item carries the `expect` the
agent gives on that turn and the `keys` the dialogue needs from it, as the agent understands
them (`calls.agent.understanding.understand`): a size, a phone number, yes or no, a name.
The set goes to loadtests/results/espeak-e2e/ (gitignored), in the human set's manifest format,
so `measure_human_voices.py --set loadtests/results/espeak-e2e --languages en` measures it:

    python loadtests/espeak_e2e_voices.py [--rate 8000]

This is **synthetic speech**: it tells what the tests will hear, not how callers are heard.
"""

import argparse
import io
import json
import os
import sys
import tarfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
os.environ.setdefault("ENV_FILE", os.devnull)

SIZE = {"size": "205/55 R16"}
YES, NO = {"yes": True}, {"no": True}
# (what the caller says, the expect of that turn, the keys the dialogue needs)
LINES = [
    ("I need winter tires", "free", {"season": "winter"}),
    ("I need four winter tires", "free", {"season": "winter", "quantity": 4}),
    ("I need winter tires, two hundred five, fifty five, R sixteen", "free", SIZE),
    ("Two hundred five, fifty five, R sixteen", "size", SIZE),
    ("Two hundred five, fifty five, R sixteen.", "free", SIZE),
    ("Winter tires, two hundred five, fifty five, R sixteen", "free", SIZE),
    ("Winter tires, one hundred eighty five, sixty five, R fourteen", "free",
     {"size": "185/65 R14"}),
    ("Winter tires, two hundred thirty five, forty five, R eighteen", "free",
     {"size": "235/45 R18"}),
    ("Winter tires, two hundred twenty five, forty five, R seventeen", "free",
     {"size": "225/45 R17"}),
    ("Do you have winter tires two hundred five fifty five R sixteen?", "free", SIZE),
    ("No, I need seventeen inch", "choice", {"rim": 17}),
    ("Yes", "confirm", YES),
    ("yes", "confirm", YES),
    ("Yes, please", "confirm", YES),
    ("Yes, please.", "confirm", YES),
    ("Yes, that's right.", "confirm", YES),
    ("No, thank you", "confirm", NO),
    ("No, thank you, goodbye", "free", {"farewell": True}),
    ("My name is John", "name", {"name": "John"}),
    ("My number is zero six seven, one two three, four five, six seven", "phone",
     {"phone": "+380671234567"}),
    ("I will pick them up", "fulfilment", {"fulfilment": "pickup"}),
    ("I would like to order them.", "free", {}),
    ("Do you have winter tires?", "free", {"season": "winter"}),
    ("Where is my order?", "free", {"status": True}),
    ("Michelin", "free", {"brand": "Michelin"}),
    ("Do you have Continental?", "free", {"brand": "Continental"}),
]  # fmt: skip
# The Asterisk build's scripted callers (lines.tsv), with the expect of their turn in the order.
ASTERISK_LINES = {
    "order01": ("free", SIZE),
    "order02": ("choice", {"choice": 1}),
    "order03": ("quantity", {"quantity": 4}),
    "order04": ("name", {"name": "John"}),
    "order05": ("phone", {"phone": "+380671234567"}),
    "order06": ("fulfilment", {"fulfilment": "pickup"}),
    "order07": ("confirm", YES),
    "order08": ("free", {"farewell": True}),
    "brief01": ("free", SIZE),
    "brief02": ("quantity", {"quantity": 4}),
    "brief03": ("choice", {"choice": 1}),
    "brief04": ("name", {"name": "John"}),
    "brief05": ("confirm", YES),
}
BRANDS = [("Michelin", ["michelin"]), ("Continental", ["continental"]), ("Nokian", ["nokian"])]


def asterisk_lines() -> list[tuple[str, str, bytes, int]]:
    """(name, text, pcm, rate) of the scripted callers' recordings, or none without the build."""
    tarballs = sorted((ROOT.parent / "shared" / "asterisk").glob("asterisk-min-*.tar.gz"))
    if not tarballs:
        return []
    found = []
    with tarfile.open(tarballs[-1]) as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if "/sounds/caller/" in m.name}
        lines = tar.extractfile(members["lines.tsv"]).read().decode().splitlines()
        for line in lines:
            name, _voice, text = line.split("\t")
            with wave.open(io.BytesIO(tar.extractfile(members[f"{name}.wav"]).read())) as audio:
                pcm, rate = audio.readframes(audio.getnframes()), audio.getframerate()
            found.append((name, text, pcm, rate))
    return found


def keys_heard(heard: str, expect: str, keys: dict) -> bool:
    """Whether the agent gets every key of the line from `heard`."""
    from calls.agent.understanding import understand

    offers = (
        [
            {"brand": "Continental", "model": "WinterContact", "price": "3500"},
            {"brand": "Michelin", "model": "Alpin 6", "price": "4200"},
        ]
        if expect == "choice"
        else []
    )
    reading = understand(heard, "en", asking=expect, brands=BRANDS, offers=offers)
    for field, value in keys.items():
        got = getattr(reading, field)
        if field == "size":
            got = str(got) if got else None
        if field == "name":
            got = (got or "").strip(" .").title()
        if got != value:
            return False
    return True


def endpointed(pcm: bytes, rate: int) -> list[bytes]:
    """What the session hands the STT engine: the line between seconds of digital silence, as the
    test client sends it, cut by the session's own endpointer (pre-roll, kept end silence, and a
    pause of the end-silence length splits it)."""
    from django.conf import settings

    from calls.voice.audio import FRAME_MS
    from calls.voice.vad import EndpointConfig, Endpointer, Utterance, WebRTCVAD

    endpointer = Endpointer(
        WebRTCVAD(),
        rate,
        EndpointConfig(
            end_silence_ms=settings.VAD_END_SILENCE_MS,
            max_utterance_ms=settings.VAD_MAX_UTTERANCE_MS,
        ),
    )
    frame = rate * FRAME_MS // 1000 * 2
    audio = bytes(rate * 2) + pcm + bytes(rate * 2 * 2)
    audio += bytes(-len(audio) % frame)
    found = []
    for index in range(0, len(audio), frame):
        for event in endpointer.feed(audio[index : index + frame], index // frame * FRAME_MS):
            if isinstance(event, Utterance):
                found.append(event.pcm)
    return found


def write(path: Path, pcm: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(pcm)


def build(output: Path, rate: int, as_heard: bool) -> list[dict]:
    import django

    django.setup()
    from calls.voice.audio import resample
    from calls.voice.tts import EspeakNGEngine

    voice = EspeakNGEngine(words_per_minute=130)
    output.mkdir(parents=True, exist_ok=True)
    manifest = []
    entries = [
        (text, expect, keys, voice.synthesize(text, "en", rate)) for text, expect, keys in LINES
    ]
    for name, text, pcm, source_rate in asterisk_lines():
        expect, keys = ASTERISK_LINES[name]
        entries.append((text, expect, keys, resample(pcm, source_rate, rate)))
    for index, (text, expect, keys, pcm) in enumerate(entries):
        if as_heard:
            pieces = endpointed(pcm, rate)
            if len(pieces) != 1:
                print(f"{text!r}: the endpointer cut {len(pieces)} utterances", file=sys.stderr)
            pcm = b"".join(pieces)
        file = f"en-{index:03d}-{expect}.wav"
        write(output / file, pcm, rate)
        item = {
            "file": file, "language": "en", "kind": expect, "expect": expect, "text": text,
            "keys": keys, "rate": rate, "seconds": round(len(pcm) / 2 / rate, 2),
        }  # fmt: skip
        if "size" in keys or "phone" in keys:
            item["digits"] = "".join(
                c for c in keys.get("size") or keys["phone"][3:] if c.isdigit()
            )
        manifest.append(item)
    (output / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=8000, choices=[8000, 16000])
    parser.add_argument(
        "--as-heard", action="store_true", help="cut by the session's endpointer, as served"
    )
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    name = f"espeak-e2e-{args.rate // 1000}k" + ("-heard" if args.as_heard else "")
    output = Path(args.output or ROOT / "loadtests/results" / name)
    manifest = build(output, args.rate, args.as_heard)
    print(f"{len(manifest)} items in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
