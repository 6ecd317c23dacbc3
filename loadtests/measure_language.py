"""Measure the call-language detection of docs/engines.md ("Which language the caller speaks").

For each utterance, the embedded Whisper base (`FasterWhisperEngine`, 8 kHz, the utterance's own
window with a 2 s margin unless told otherwise) is asked to pick among the shop's languages, and
`calls.language.CallLanguage` decides, as on a call greeted in the first language, whether that
utterance alone moves the call. Reported per set and kind of utterance:

- engine: how often Whisper's pick among the allowed languages is the language spoken;
- first utterance moves the call: how often a caller of another language than the greeting's
  is followed after this utterance alone (short ones are meant not to);
- stays: for callers of the greeting's language, how often the call stays put (no wrong flip);
- wrong: calls moved to a language that is neither the greeting's nor the one spoken;
- CPU seconds per utterance with and without detection (process time, CTranslate2's threads
  included), the same utterances alternating, so a busy machine weighs on both alike.

Sets: the human-voice set of loadtests/human_voices.py (Debian's Asterisk recordings: Russian
and English, mu-law 8 kHz), and espeak-ng Ukrainian and Russian caller lines from the agent's
dialogue corpus (tests/agent/dialogues). No human Ukrainian recording exists in the registries.

    python loadtests/human_voices.py          # once: build the human set
    python loadtests/measure_language.py [--margin none] [--synthetic 40]
"""

import argparse
import json
import os
import random
import sys
import time
import wave
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
os.environ.setdefault("ENV_FILE", os.devnull)


def human_items(directory: Path) -> list[dict]:
    manifest = json.loads((directory / "manifest.json").read_text())
    for item in manifest:
        with wave.open(str(directory / item["file"])) as wav:
            item["pcm"] = wav.readframes(wav.getnframes())
    return manifest


def synthetic_items(count: int) -> list[dict]:
    import yaml

    from calls.voice.tts import EspeakNGEngine

    voice = EspeakNGEngine(words_per_minute=130)
    items = []
    for language in ("uk", "ru"):
        lines = []
        for name in ("orders", "calls"):
            path = ROOT / f"tests/agent/dialogues/{language}_{name}.yaml"
            for dialogue in yaml.safe_load(path.read_text())["dialogues"]:
                lines += [turn["say"] for turn in dialogue["turns"] if "say" in turn]
        chosen = random.Random(language).sample(sorted(set(lines)), count)
        for text in chosen:
            kind = "short" if len(text.split()) <= 2 else "sentence"
            pcm = voice.synthesize(text, language, 8000)
            items.append({"language": language, "kind": kind, "text": text, "pcm": pcm})
    return items


def measure(engine, items: list[dict], allowed: tuple[str, ...], rows: dict, cpu: dict) -> None:
    from calls.language import CallLanguage

    greeting = allowed[0]
    for item in items:
        if item["language"] not in allowed:
            continue
        pcm, seconds = item["pcm"], len(item["pcm"]) / 16000
        started = time.process_time()
        heard = engine.transcribe(pcm, 8000, greeting, detect=allowed)
        cpu["detect"].append(time.process_time() - started)
        started = time.process_time()
        engine.transcribe(pcm, 8000, greeting)
        cpu["plain"].append(time.process_time() - started)
        call = CallLanguage(allowed)
        call.hear(heard.text, heard_as=heard.language, probs=heard.language_probs, seconds=seconds)
        row = rows[(",".join(allowed), item["language"], item["kind"])]
        row["n"] += 1
        row["engine"] += heard.language == item["language"]
        row["outside"] += heard.language not in allowed or call.language not in allowed
        row["call"] += call.language == item["language"]
        row["wrong"] += call.language not in (greeting, item["language"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--human", default=str(ROOT / "loadtests/results/human-voices"))
    parser.add_argument("--margin", default="2", help="seconds, or none for the 30 s window")
    parser.add_argument("--synthetic", type=int, default=30, help="espeak lines per language")
    args = parser.parse_args()

    import django

    django.setup()
    from calls.voice.stt import FasterWhisperEngine

    margin = None if args.margin == "none" else float(args.margin)
    engine = FasterWhisperEngine("base", threads=1, window_margin=margin)
    engine.transcribe(bytes(16000), 8000, "uk", detect=("uk", "ru"))  # warm
    rows: dict = defaultdict(lambda: defaultdict(int))
    cpu: dict = defaultdict(list)
    human = human_items(Path(args.human))
    measure(engine, human, ("uk", "ru"), rows, cpu)  # Russian callers of a Ukrainian shop
    measure(engine, human, ("uk", "ru", "en"), rows, cpu)  # English callers too
    if args.synthetic:
        synthetic = synthetic_items(args.synthetic)
        for item in synthetic:
            item["kind"] = f"espeak {item['kind']}"
        measure(engine, synthetic, ("uk", "ru"), rows, cpu)

    print(f"margin {args.margin}; CPU per utterance: detect {mean(cpu['detect']):.3f} s, "
          f"plain {mean(cpu['plain']):.3f} s over {len(cpu['plain'])} utterances")  # fmt: skip
    print("| allowed | spoken | kind | n | engine picks it | call follows / stays | wrong "
          "| outside |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for (allowed, spoken, kind), row in sorted(rows.items()):
        n = row["n"]
        print(f"| {allowed} | {spoken} | {kind} | {n} | {row['engine']}/{n} | "
              f"{row['call']}/{n} | {row['wrong']} | {row['outside']} |")  # fmt: skip
    return 0


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    sys.exit(main())
