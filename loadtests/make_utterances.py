"""Synthesise the load test's caller utterances once, ahead of a run (espeak-ng, English).

Two sets: `DIALOGUE` (a search and a polite no, every profile) and `ORDER_DIALOGUES` (callers who
order, LOAD_DIALOGUE=orders on remote engines).

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
# Callers who order (the remote-engine profiles, LOAD_DIALOGUE=orders): each says one of these
# from start to end; the names, numbers and sizes differ so the orders and the bot's read-backs
# do. The speech stand-in (speech_standin.py) answers each recording with its text.
YES, FIRST, PICKUP, BYE = "Yes", "The first one", "I will pick them up", "No, thank you"
ORDER_DIALOGUES = [
    ["I need four winter tires", "Two hundred five, fifty five, R sixteen", FIRST,
     "My name is John", "My number is zero six seven, one two three, four five, six seven",
     PICKUP, YES, BYE],
    ["I need two winter tires", "One hundred ninety five, sixty five, R fifteen",
     "The second one", "My name is Maria",
     "My number is zero nine three, five five five, one two, three four", PICKUP, YES, BYE],
    ["I need four summer tires", "Two hundred twenty five, forty five, R seventeen", FIRST,
     "My name is Peter", "My number is zero five zero, seven seven seven, eight eight, nine nine",
     PICKUP, YES, BYE],
    ["I need four winter tires", "One hundred ninety five, sixty five, R fifteen", FIRST,
     "My name is Anna", "My number is zero six six, four four four, three three, two two",
     PICKUP, YES, BYE],
]  # fmt: skip
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
    transcripts: dict[str, str] = {}  # file -> what is said in it
    for rate in RATES:
        index[str(rate)] = []
        for number, text in enumerate(DIALOGUE, start=1):
            name = f"{rate}-{number:02d}.pcm"
            (args.output / name).write_bytes(caller.synthesize(text, "en", rate))
            index[str(rate)].append(name)
            transcripts[name] = text
    orders: dict[str, list[list[str]]] = {}
    order_texts = sorted({text for dialogue in ORDER_DIALOGUES for text in dialogue})
    for rate in RATES:
        names = {}
        for number, text in enumerate(order_texts, start=1):
            names[text] = f"{rate}-order-{number:02d}.pcm"
            (args.output / names[text]).write_bytes(caller.synthesize(text, "en", rate))
            transcripts[names[text]] = text
        orders[str(rate)] = [[names[text] for text in dialogue] for dialogue in ORDER_DIALOGUES]
    (args.output / "utterances.json").write_text(
        json.dumps(
            {**index, "texts": DIALOGUE, "order_dialogues": orders, "transcripts": transcripts},
            indent=2,
        )
        + "\n"
    )
    print(f"{len(DIALOGUE)} utterances at {', '.join(map(str, RATES))} Hz in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
