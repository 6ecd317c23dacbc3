"""What the embedded STT engine adds to a server's memory, step by step: the model, then the
working memory of CTranslate2's workers as utterances are transcribed one at a time and then
`STT_WORKERS` at once, in the 30 s window or the utterance's own (STT_WINDOW_MARGIN).

    python loadtests/measure_stt_memory.py --margin none
    python loadtests/measure_stt_memory.py --margin 2 --model base

Run one setting per process: the allocators keep what they once took, so a second setting in
the same process would show only the difference. RSS is read from /proc (psutil), in MiB.
The utterances are the espeak-ng test caller's lines at 8 kHz (synthetic speech: the memory
does not depend on the voice, only on the audio's length and the window).
"""

import argparse
import json
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
os.environ.setdefault("ENV_FILE", os.devnull)

LINES = [
    "Yes",
    "My name is John",
    "I need winter tires, two hundred five, fifty five, R sixteen",
    "My number is zero six seven, one two three, four five, six seven",
]


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--margin", default="none", help="seconds, or none for the 30 s window")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--workers", type=int, default=2, help="STT_WORKERS")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    margin = None if args.margin == "none" else float(args.margin)
    os.environ["STT_WORKERS"] = str(args.workers)

    import django

    django.setup()
    from calls.voice.stt import FasterWhisperEngine
    from calls.voice.tts import EspeakNGEngine

    steps = {"django and numpy imported": rss_mb()}
    voice = EspeakNGEngine(words_per_minute=130)
    audio = [voice.synthesize(line, "en", 8000) for line in LINES]
    steps["espeak-ng loaded, 4 lines synthesised"] = rss_mb()
    language = "en"
    engine = FasterWhisperEngine(args.model, threads=1, window_margin=margin)
    steps["model loaded"] = rss_mb()
    engine.transcribe(audio[0], 8000, language)
    steps["first utterance, one thread"] = rss_mb()
    for pcm in audio:
        engine.transcribe(pcm, 8000, language)
    steps["4 utterances (0.5-6 s), one thread"] = rss_mb()

    def talk() -> None:
        for _ in range(args.rounds):
            for pcm in audio:
                engine.transcribe(pcm, 8000, language)

    threads = [threading.Thread(target=talk) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    steps[f"{args.workers} threads at once, {args.rounds * len(audio)} utterances each"] = rss_mb()
    report = {"model": args.model, "margin": margin, "workers": args.workers, "rss_mb": steps}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
