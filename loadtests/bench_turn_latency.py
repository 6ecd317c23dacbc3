"""Benchmark of turn latency on the embedded engines: from the end of the caller's speech to the
first frame of the bot's reply, over real calls through the real server.

N callers talk at once, each saying its phrases in turn as a phone line delivers them (20 ms
frames in real time) and waiting for the answer; calls start at random within a few seconds and
callers pause before they speak, as people do (both seeded, so runs compare). Caller speech
is synthesised once, before the run. The latency includes the endpoint's wait for silence
(VAD_END_SILENCE_MS, 600 ms by default). The run fails when p95 misses the shop's minimum
(2 s) or a turn goes unanswered.

    python loadtests/bench_turn_latency.py --calls 10 --turns 5
"""

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path

from bench_server import ROOT, percentile, start_benchmark_server

from tests.helpers.audiosocket_client import AudioSocketClient

PHRASES = [
    "I need winter tires",
    "Two hundred five, fifty five, R sixteen",
    "Do you have Michelin?",
    "Yes, please",
    "My number is zero six seven, one two three, four five, six seven",
    "No, thank you",
]


def synthesise_phrases(rate: int) -> list[bytes]:
    from calls.voice.tts import EspeakNGEngine

    caller = EspeakNGEngine(words_per_minute=130)
    return [caller.synthesize(text, "en", rate) for text in PHRASES]


async def one_call(host: str, port: int, phrases: list[bytes], args, rng: random.Random) -> dict:
    latencies: list[float] = []
    unanswered = 0
    turns, rate = args.turns, args.rate
    # Callers do not ring in the same instant, and pause before they answer the bot.
    await asyncio.sleep(rng.uniform(0, args.stagger))
    client = await AudioSocketClient.connect(host, port, sample_rate=rate)
    try:
        client.start_background_silence()
        await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=15)
        for turn in range(turns):
            await asyncio.sleep(rng.uniform(*args.pause))
            await client.send_audio(phrases[turn % len(phrases)])
            speech_ended = time.monotonic()
            try:
                reply = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=15)
            except TimeoutError:
                unanswered += 1
                continue
            latencies.append(reply.first_audio_at - speech_ended)
    finally:
        await client.hangup()
    return {"latencies": latencies, "unanswered": unanswered}


async def run(args, server, phrases) -> dict:
    started = time.monotonic()
    rng = random.Random(args.seed)
    results = await asyncio.gather(
        *(one_call(server.host, server.port, phrases, args, rng) for _ in range(args.calls)),
        return_exceptions=True,
    )
    failed_calls = [r for r in results if isinstance(r, BaseException)]
    done = [r for r in results if not isinstance(r, BaseException)]
    latencies = [lat for r in done for lat in r["latencies"]]
    return {
        "calls": args.calls,
        "turns_per_call": args.turns,
        "sample_rate": args.rate,
        "stagger_s": args.stagger,
        "pause_s": list(args.pause),
        "turns_answered": len(latencies),
        "turns_unanswered": sum(r["unanswered"] for r in done),
        "failed_calls": len(failed_calls),
        "latency_s_p50": round(percentile(latencies, 0.50), 3),
        "latency_s_p95": round(percentile(latencies, 0.95), 3),
        "latency_s_p99": round(percentile(latencies, 0.99), 3),
        "latency_s_mean": round(statistics.mean(latencies), 3) if latencies else None,
        "wall_seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--rate", type=int, default=8000, choices=[8000, 16000])
    parser.add_argument(
        "--stagger", type=float, default=5.0, help="calls start at random within this many seconds"
    )
    parser.add_argument(
        "--pause",
        type=float,
        nargs=2,
        default=(0.5, 2.0),
        help="a caller's pause before speaking, seconds (min max)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-p95", type=float, default=2.0, help="seconds")
    parser.add_argument("--output", type=Path, default=ROOT / "loadtests" / "results")
    args = parser.parse_args()
    server = start_benchmark_server("--idle-timeout", "30")
    try:
        phrases = synthesise_phrases(args.rate)
        figures = asyncio.run(run(args, server, phrases))
    finally:
        figures_status = server.stop()
    misses = []
    if figures["failed_calls"] or figures["turns_unanswered"]:
        misses.append(
            f"{figures['failed_calls']} calls failed, {figures['turns_unanswered']} turns "
            "unanswered"
        )
    if not figures["turns_answered"] or figures["latency_s_p95"] > args.max_p95:
        misses.append(f"turn latency p95 {figures['latency_s_p95']} s (limit {args.max_p95} s)")
    if figures_status != 0:
        misses.append(f"the server exited with {figures_status}")
    figures["passed"] = not misses
    args.output.mkdir(parents=True, exist_ok=True)
    report = args.output / f"bench-turn-latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:>20}: {value}")
    print(f"{'report':>20}: {report}")
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
