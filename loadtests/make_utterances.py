"""Synthesise the load test's caller utterances once, ahead of a run (espeak-ng, English).

Writes raw 16-bit PCM files per sample rate and `utterances.json` (rate -> files in the order a
caller says them) into the output directory; the Locust callers only read them.

    python loadtests/make_utterances.py --output loadtests/results/utterances
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# One caller's side of a short call the rule-based agent can follow: a search, a size, and a
# polite no, after which the bot says goodbye and hangs up.
DIALOGUE = [
    "I need winter tires",
    "Two hundred five, fifty five, R sixteen",
    "No, thank you",
]
RATES = (8000, 16000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT / "loadtests" / "results" / "utterances"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
    import django

    django.setup()
    from calls.voice.tts import EspeakNGEngine

    caller = EspeakNGEngine(words_per_minute=130)
    args.output.mkdir(parents=True, exist_ok=True)
    index: dict[str, list[str]] = {}
    for rate in RATES:
        index[str(rate)] = []
        for number, text in enumerate(DIALOGUE, start=1):
            name = f"{rate}-{number:02d}.pcm"
            (args.output / name).write_bytes(caller.synthesize(text, "en", rate))
            index[str(rate)].append(name)
    (args.output / "utterances.json").write_text(
        json.dumps({**index, "texts": DIALOGUE}, indent=2) + "\n"
    )
    print(f"{len(DIALOGUE)} utterances at {', '.join(map(str, RATES))} Hz in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
