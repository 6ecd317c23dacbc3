"""Measure the embedded speech engines on a tire shop's phrases: the figures of docs/engines.md.

Each phrase is spoken by espeak-ng (130 words a minute), then heard by each Whisper model in
three conditions: clean 16 kHz, the telephone path (8 kHz, resampled as the server does) and
8 kHz with white noise at 20 dB SNR. Reported per model and condition: word error rate against
the written form, phrases heard exactly, phrases whose key (the digits, or the one word that
matters) came out, the real-time factor (seconds of compute per second of audio, one thread)
and the memory the model takes.

    python loadtests/measure_engines.py                  # English on tiny.en and base
    python loadtests/measure_engines.py --languages en uk ru --models tiny.en base

espeak-ng's Ukrainian and Russian voices are robotic: figures on them say little about human
callers, and the report says so.
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
os.environ.setdefault("ENV_FILE", os.devnull)

# (spoken, written, key): the key must appear in what is heard (digits compare as digits).
PHRASES = {
    "en": [
        ("Two hundred five, fifty five, R sixteen", "205/55 R16", "2055516"),
        ("One ninety five, sixty five, R fifteen", "195/65 R15", "1956515"),
        ("Two twenty five, forty five, R seventeen", "225/45 R17", "2254517"),
        ("I need four winter tires, two hundred five, fifty five, R sixteen",
         "I need four winter tires, 205/55 R16", "2055516"),
        ("Do you have Michelin?", "Do you have Michelin?", "michelin"),
        ("Do you have Continental?", "Do you have Continental?", "continental"),
        ("Nokian Hakkapeliitta", "Nokian Hakkapeliitta", "nokian"),
        ("Something cheaper, maybe Hankook", "Something cheaper, maybe Hankook", "hankook"),
        ("Bridgestone, please", "Bridgestone, please", "bridgestone"),
        ("I want summer tires", "I want summer tires", "summer"),
        ("All season tires", "All season tires", "season"),
        ("Yes", "Yes", "yes"),
        ("Yes, that's right", "Yes, that's right", "yes"),
        ("No", "No", "no"),
        ("No, thank you", "No, thank you", "no"),
        ("My number is zero six seven, one two three, four five, six seven",
         "My number is 067 123 45 67", "0671234567"),
        ("Zero nine three, five five five, one two, three four",
         "093 555 12 34", "0935551234"),
        ("Order number one zero four five two three", "Order number 104523", "104523"),
        ("What is the status of order five five one two", "What is the status of order 5512",
         "5512"),
        ("Operator, please", "Operator, please", "operator"),
        ("I'd like to pick them up tomorrow", "I'd like to pick them up tomorrow", "tomorrow"),
    ],
    "uk": [
        ("Двісті п'ять, п'ятдесят п'ять, R шістнадцять", "205/55 R16", "2055516"),
        ("Мені потрібні зимові шини", "Мені потрібні зимові шини", "зимов"),
        ("Літні шини", "Літні шини", "літн"),
        ("Так", "Так", "так"),
        ("Ні", "Ні", "ні"),
        ("Так, правильно", "Так, правильно", "так"),
        ("Мішлен", "Мішлен", "мішлен"),
        ("Мій номер нуль шість сім, один два три, чотири п'ять, шість сім",
         "Мій номер 067 123 45 67", "0671234567"),
        ("Номер замовлення сто чотири п'ятсот двадцять три", "Номер замовлення 104523",
         "104523"),
        ("З'єднайте з оператором", "З'єднайте з оператором", "оператор"),
        ("Чотири шини", "Чотири шини", "чотири"),
    ],
    "ru": [
        ("Двести пять, пятьдесят пять, R шестнадцать", "205/55 R16", "2055516"),
        ("Мне нужны зимние шины", "Мне нужны зимние шины", "зимн"),
        ("Летние шины", "Летние шины", "летн"),
        ("Да", "Да", "да"),
        ("Нет", "Нет", "нет"),
        ("Да, правильно", "Да, правильно", "да"),
        ("Мишлен", "Мишлен", "мишлен"),
        ("Мой номер ноль шесть семь, один два три, четыре пять, шесть семь",
         "Мой номер 067 123 45 67", "0671234567"),
        ("Номер заказа сто четыре пятьсот двадцать три", "Номер заказа 104523", "104523"),
        ("Соедините с оператором", "Соедините с оператором", "оператор"),
        ("Четыре шины", "Четыре шины", "четыре"),
    ],
}  # fmt: skip

CONDITIONS = ("16k clean", "8k phone", "8k + noise 20 dB")


def words(text: str) -> list[str]:
    """Lower case, no punctuation, digits apart from letters ("R16" -> "r 16"), and a run of
    numbers as one token: "067 123 45 67" and "067 1234567" are the same phone number; "ё" as
    "е" (Russian writes either: "своё" and "свое" are one word)."""
    text = re.sub(r"(\d)([^\W\d_])|([^\W\d_])(\d)", r"\1\3 \2\4", text.lower().replace("ё", "е"))
    tokens: list[str] = []
    for token in re.findall(r"[^\W_]+", text.replace("'", "")):
        if token.isdigit() and tokens and tokens[-1].isdigit():
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def key_heard(key: str, heard: str) -> bool:
    if key.isdigit():
        return key in re.sub(r"\D", "", heard)
    return key in heard.lower()


def with_noise(pcm: bytes, snr_db: float, seed: int) -> bytes:
    import numpy as np

    signal = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    power = np.mean(signal**2) if signal.size else 0.0
    noise = np.random.default_rng(seed).normal(0, np.sqrt(power / 10 ** (snr_db / 10)), signal.size)
    return np.clip(signal + noise, -32768, 32767).astype("<i2").tobytes()


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure_stt(
    model: str,
    languages: list[str],
    threads: int,
    prompt: bool,
    margin: float | None = 2.0,
    guard: bool = True,
) -> list[dict]:
    from calls.voice.audio import duration_ms, resample
    from calls.voice.stt import FasterWhisperEngine, STTError
    from calls.voice.tts import EspeakNGEngine

    speaker = EspeakNGEngine(words_per_minute=130)
    before = rss_mb()
    started = time.perf_counter()
    engine = FasterWhisperEngine(
        model, threads=threads, domain_prompt=prompt, window_margin=margin, guard=guard
    )
    load_s = time.perf_counter() - started
    memory = rss_mb() - before
    engine.transcribe(speaker.synthesize("Hello", "en", 16000), 16000, "en")  # warm up
    rows = []
    for language in languages:
        if language != "en" and not engine.multilingual:
            continue
        for condition in CONDITIONS:
            errors = total_words = exact = keys = 0
            compute = audio = 0.0
            samples = []
            for index, (spoken, written, key) in enumerate(PHRASES[language]):
                clean = speaker.synthesize(spoken, language, 16000)
                pcm, rate = clean, 16000
                if condition != "16k clean":
                    pcm, rate = resample(clean, 16000, 8000), 8000
                if condition.startswith("8k + noise"):
                    pcm = with_noise(pcm, 20, seed=index)
                # Process CPU time, not wall time: the machine is shared.
                started = time.process_time()
                try:
                    heard = engine.transcribe(pcm, rate, language).text
                except STTError as error:
                    heard = f"<error: {error}>"
                compute += time.process_time() - started
                audio += duration_ms(pcm, rate) / 1000
                reference, hypothesis = words(written), words(heard)
                errors += edit_distance(reference, hypothesis)
                total_words += len(reference)
                exact += reference == hypothesis
                keys += key_heard(key, heard)
                if reference != hypothesis and len(samples) < 4:
                    samples.append(f"{written!r} -> {heard!r}")
            rows.append(
                {
                    "model": model,
                    "threads": threads,
                    "domain_prompt": prompt,
                    "window": "30 s" if margin is None else f"+{margin:g} s",
                    "guard": guard,
                    "language": language,
                    "condition": condition,
                    "phrases": len(PHRASES[language]),
                    "wer": round(errors / total_words, 3),
                    "exact": exact,
                    "keys_heard": keys,
                    "rtf": round(compute / audio, 3),
                    "model_mb": round(memory),
                    "load_s": round(load_s, 1),
                    "misheard": samples,
                }
            )
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def measure_tts(languages: list[str]) -> list[dict]:
    from calls.voice.audio import duration_ms
    from calls.voice.tts import EspeakNGEngine

    engine = EspeakNGEngine()
    rows = []
    for language in languages:
        for rate in (8000, 16000):
            compute = audio = 0.0
            for spoken, _, _ in PHRASES[language]:
                started = time.perf_counter()
                pcm = engine.synthesize(spoken, language, rate)
                compute += time.perf_counter() - started
                audio += duration_ms(pcm, rate) / 1000
            rows.append(
                {"engine": "espeak-ng", "language": language, "rate": rate,
                 "rtf": round(compute / audio, 4), "audio_s": round(audio, 1)}
            )  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", nargs="+", default=["en"], choices=sorted(PHRASES))
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-prompt", action="store_true", help="without the domain prompt (DOMAIN_PROMPTS)"
    )
    parser.add_argument(
        "--margin", default="none", help="seconds after the utterance, or none for the 30 s window"
    )
    parser.add_argument("--no-guard", action="store_true", help="Whisper's output unchecked")
    parser.add_argument("--output", default=str(ROOT / "loadtests" / "results"))
    args = parser.parse_args()

    import django

    django.setup()
    report = {"stt": [], "tts": measure_tts(args.languages)}
    for model in args.models:
        margin = None if args.margin == "none" else float(args.margin)
        report["stt"] += measure_stt(
            model, args.languages, args.threads, not args.no_prompt, margin, not args.no_guard
        )

    print(
        "\n| model | prompt | window | guard | language | condition | WER | exact | key heard | "
        "RTF | model MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in report["stt"]:
        print(
            f"| {row['model']} | {'yes' if row['domain_prompt'] else 'no'} | {row['window']} | "
            f"{'yes' if row['guard'] else 'no'} | {row['language']} | "
            f"{row['condition']} | {row['wer']:.2f} | "
            f"{row['exact']}/{row['phrases']} | {row['keys_heard']}/{row['phrases']} | "
            f"{row['rtf']:.2f} | {row['model_mb']} |"
        )
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"engines-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nreport: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
