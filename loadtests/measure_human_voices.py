"""Measure FasterWhisperEngine settings on human voices: the accuracy and CPU table of
docs/engines.md.

Reads the set loadtests/human_voices.py builds (Debian's Asterisk recordings, mu-law 8 kHz) and
passes each item through `FasterWhisperEngine.transcribe` at 8 kHz, with the `expect` the agent
would give (a phone number's turn expects "phone"). Per setting and language it reports:

- WER over every item (numbers compared as numbers, see measure_engines.words);
- digit sequences exactly right (phone numbers, order numbers, tire sizes: 22 a language);
- short replies and names heard exactly, and those that came back empty or reciting the prompt;
- CPU seconds per short utterance (replies and names, under 2 s) and the RTF over all items,
  both from the process's CPU time (CTranslate2's threads included), not wall time, so a busy
  machine changes them little.

    python loadtests/human_voices.py                       # once: build the set
    python loadtests/measure_human_voices.py --languages en ru
    python loadtests/measure_human_voices.py --languages ru --settings "margin=2 beam=5"

A setting is "key=value ..." with keys margin (seconds, or none for the 30 s window), beam,
prompt (expect, domain or none), guard (1 or 0) and model.
"""

import argparse
import json
import os
import re
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "loadtests"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
os.environ.setdefault("ENV_FILE", os.devnull)

from espeak_e2e_voices import keys_heard  # noqa: E402
from measure_engines import edit_distance, words  # noqa: E402

EXPECT = {"phone": "phone", "order_number": "order_number", "size": "size", "name": "name"}
DEFAULT_SETTINGS = [
    "margin=none prompt=domain guard=0",  # before: 30 s window, one prompt, no guard
    "margin=none prompt=expect guard=1",
    "margin=1 prompt=expect guard=1",
    "margin=2 prompt=expect guard=1",
    "margin=3 prompt=expect guard=1",
    "margin=2 prompt=domain guard=1",
]
MODELS = {"en": "tiny.en", "ru": "base"}


def parse(setting: str, language: str) -> dict:
    values = dict(part.split("=", 1) for part in setting.split())
    return {
        "model": values.get("model", MODELS[language]),
        "margin": None if values.get("margin", "2") == "none" else float(values["margin"]),
        "beam": int(values.get("beam", 1)),
        "prompt": values.get("prompt", "expect"),
        "guard": values.get("guard", "1") == "1",
    }


def load(directory: Path, file: str) -> bytes:
    with wave.open(str(directory / file)) as audio:
        return audio.readframes(audio.getnframes())


def measure(directory: Path, items: list[dict], language: str, setting: str) -> dict:
    from calls.voice.stt import FasterWhisperEngine
    from calls.voice.whisper_guard import recites_prompt

    config = parse(setting, language)
    engine = FasterWhisperEngine(
        config["model"],
        threads=1,
        beam_size=config["beam"],
        domain_prompt=config["prompt"] != "none",
        window_margin=config["margin"],
        expect_prompts=config["prompt"] == "expect",
        guard=config["guard"],
    )
    rate = items[0].get("rate", 8000)
    engine.transcribe(load(directory, items[0]["file"]), rate, language)  # warm up
    errors = total = digits_right = digit_items = short_right = short_items = 0
    keys_right = keys_items = 0
    keys_missed = []
    empty = recited = 0
    cpu = audio = short_cpu = 0.0
    misheard = []
    for item in items:
        pcm = load(directory, item["file"])
        expect = item.get("expect") or EXPECT.get(item["kind"], "free")
        started = time.process_time()
        heard = engine.transcribe(pcm, rate, language, expect=expect).text
        spent = time.process_time() - started
        cpu += spent
        audio += item["seconds"]
        reference, hypothesis = words(item["text"]), words(heard)
        errors += edit_distance(reference, hypothesis)
        total += len(reference)
        if "digits" in item:
            digit_items += 1
            digits_right += re.sub(r"\D", "", heard) == item["digits"]
        if "keys" in item:  # the espeak-ng set of the tests' lines (espeak_e2e_voices.py)
            keys_items += 1
            right = keys_heard(heard, expect, item["keys"])
            keys_right += right
            if not right:
                keys_missed.append(f"{item['text']!r} -> {heard!r}")
        if item["kind"] in ("short", "name"):
            short_items += 1
            short_cpu += spent
            short_right += reference == hypothesis
            empty += not hypothesis
            recited += recites_prompt(heard, engine.prompt(language, expect))
        if reference != hypothesis and len(misheard) < 40:
            misheard.append(f"{item['text']!r} -> {heard!r}")
    row = {
        "language": language,
        "setting": setting,
        **config,
        "items": len(items),
        "wer": round(errors / total, 3),
        "digits_right": f"{digits_right}/{digit_items}",
        "short_right": f"{short_right}/{short_items}",
        "keys_right": f"{keys_right}/{keys_items}",
        "short_empty": empty,
        "short_reciting_prompt": recited,
        "cpu_s_per_short": round(short_cpu / max(1, short_items), 3),
        "cpu_s_per_item": round(cpu / len(items), 3),
        "rtf": round(cpu / audio, 3),
        "misheard": misheard,
        "keys_missed": keys_missed,
    }
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", nargs="+", default=["en", "ru"], choices=["en", "ru"])
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS)
    parser.add_argument("--set", default=str(ROOT / "loadtests/results/human-voices"))
    parser.add_argument("--output", default=str(ROOT / "loadtests/results"))
    args = parser.parse_args()

    directory = Path(args.set)
    if not (directory / "manifest.json").is_file():
        raise SystemExit(f"no set in {directory}: run loadtests/human_voices.py first")
    manifest = json.loads((directory / "manifest.json").read_text())

    import django

    django.setup()
    rows = []
    for language in args.languages:
        items = [item for item in manifest if item["language"] == language]
        rows += [measure(directory, items, language, setting) for setting in args.settings]

    print(
        "\n| language | model | window | beam | prompt | guard | WER | digit sequences | "
        "short heard | short empty | keys heard | CPU s / short | CPU s / item | RTF |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        window = "30 s" if row["margin"] is None else f"+{row['margin']:g} s"
        print(
            f"| {row['language']} | {row['model']} | {window} | {row['beam']} | {row['prompt']} | "
            f"{'yes' if row['guard'] else 'no'} | {row['wer']:.3f} | {row['digits_right']} | "
            f"{row['short_right']} | {row['short_empty']} | {row['keys_right']} | "
            f"{row['cpu_s_per_short']:.2f} | {row['cpu_s_per_item']:.2f} | {row['rtf']:.2f} |"
        )  # fmt: skip
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"human-voices-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    print(f"\nreport: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
