"""Benchmark of the AudioSocket server's hot path: N concurrent calls, paced frames, CPU, memory.

It starts `manage.py run_audiosocket` (on a throw-away SQLite database unless DATABASE_URL is
set), places N calls that behave as Asterisk does (UUID, then a 20 ms frame every 20 ms), and
measures what the callers receive for a while: frames delivered against the real-time count,
the jitter of their arrival, and the server's CPU and memory per call. It exits non-zero when a
figure misses the limits of ../shared/DESIGN.md, so CI can hold the hot path to them.

    python loadtests/bench_audiosocket.py --calls 200 --seconds 20
"""

import argparse
import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path

import psutil
from bench_server import ROOT, percentile, start_benchmark_server

from tests.helpers.audiosocket_client import AudioSocketClient


async def _receive(client: AudioSocketClient, until: float, window_start: float) -> dict:
    arrivals: list[float] = []
    errors = 0
    while (left := until - time.monotonic()) > 0:
        try:
            packet = await client.read_packet(timeout=left)
        except TimeoutError:
            break
        except Exception:
            errors += 1
            break
        now = time.monotonic()
        if not packet.is_audio:
            errors += 1  # a hang-up or anything else mid-benchmark is a failure
            break
        if now >= window_start:
            arrivals.append(now)
    return {"arrivals": arrivals, "errors": errors}


async def run(args, server) -> dict:
    process = psutil.Process(server.process.pid)
    try:
        await asyncio.sleep(1.0)
        idle_rss = process.memory_info().rss
        started = time.monotonic()
        clients = []
        for index in range(args.calls):
            clients.append(await AudioSocketClient.connect(server.host, server.port))
            clients[-1].start_background_silence()
            if index % 20 == 19:
                await asyncio.sleep(0.05)  # calls arrive over a moment, not in one instant
        ramp = time.monotonic() - started
        window_start = time.monotonic() + args.warmup
        until = window_start + args.seconds
        process.cpu_percent(None)
        receivers = [asyncio.create_task(_receive(c, until, window_start)) for c in clients]
        await asyncio.sleep(args.warmup + args.seconds / 2)
        busy_rss = process.memory_info().rss
        results = await asyncio.gather(*receivers)
        cpu = process.cpu_percent(None)
        await asyncio.gather(*(c.hangup() for c in clients), return_exceptions=True)
    finally:
        status = server.stop()
    expected = args.seconds / 0.02
    delivered, jitter, errors = [], [], 0
    for result in results:
        errors += result["errors"]
        arrivals = result["arrivals"]
        delivered.append(len(arrivals) / expected)
        jitter.extend(abs((b - a) - 0.02) * 1000 for a, b in itertools.pairwise(arrivals))
    skipped = server.log.count("frame clock fell")
    return {
        "calls": args.calls,
        "seconds": args.seconds,
        "ramp_seconds": round(ramp, 2),
        "frames_delivered_min": round(min(delivered), 4),
        "frames_delivered_mean": round(statistics.mean(delivered), 4),
        "jitter_ms_p50": round(percentile(jitter, 0.50), 2),
        "jitter_ms_p95": round(percentile(jitter, 0.95), 2),
        "jitter_ms_p99": round(percentile(jitter, 0.99), 2),
        "server_cpu_percent": round(cpu, 1),
        "server_rss_idle_mb": round(idle_rss / 2**20, 1),
        "server_rss_busy_mb": round(busy_rss / 2**20, 1),
        "memory_per_call_mb": round((busy_rss - idle_rss) / 2**20 / args.calls, 3),
        "clock_skips_logged": skipped,
        "errors": errors,
        "server_exit_status": status,
    }


def check(figures: dict, args) -> list[str]:
    misses = []
    if figures["errors"]:
        misses.append(f"{figures['errors']} calls failed")
    if figures["frames_delivered_min"] < args.min_delivered:
        misses.append(
            f"a call got only {figures['frames_delivered_min']:.1%} of its frames "
            f"(limit {args.min_delivered:.0%})"
        )
    if figures["jitter_ms_p99"] > args.max_jitter_p99:
        misses.append(
            f"frame jitter p99 {figures['jitter_ms_p99']} ms (limit {args.max_jitter_p99} ms)"
        )
    if figures["memory_per_call_mb"] > args.max_memory_per_call:
        misses.append(
            f"{figures['memory_per_call_mb']} MB per call (limit {args.max_memory_per_call} MB)"
        )
    if figures["server_exit_status"] != 0:
        misses.append(f"the server exited with {figures['server_exit_status']}")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--min-delivered", type=float, default=0.97)
    parser.add_argument("--max-jitter-p99", type=float, default=15.0, help="ms")
    parser.add_argument("--max-memory-per-call", type=float, default=5.0, help="MB")
    parser.add_argument("--output", type=Path, default=ROOT / "loadtests" / "results")
    args = parser.parse_args()
    # Django's set-up and migrate run before the loop starts.
    server = start_benchmark_server("--max-calls", str(args.calls), "--idle-timeout", "30")
    figures = asyncio.run(run(args, server))
    misses = check(figures, args)
    figures["passed"] = not misses
    args.output.mkdir(parents=True, exist_ok=True)
    report = args.output / f"bench-audiosocket-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:>24}: {value}")
    print(f"{'report':>24}: {report}")
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
