"""Benchmark of the AudioSocket server's hot path: N concurrent calls, paced frames, CPU, memory.

It starts `manage.py run_audiosocket` (on a throw-away SQLite database unless DATABASE_URL is
set), places N calls that behave as Asterisk does (UUID, then a 20 ms frame every 20 ms), and
measures what the callers receive for a while: frames delivered against the real-time count,
the jitter of their arrival, how late the server's frame clock ticked (its Prometheus
histogram), and the server's CPU and memory per call. The callers' side is lean (protocol
callbacks and one pacing timer for all lines) so that it disturbs the server it measures as
little as Asterisk would. It exits non-zero when a figure misses the limits of
../shared/DESIGN.md, so CI can hold the hot path to them.

    python loadtests/bench_audiosocket.py --calls 200 --seconds 20
"""

import argparse
import asyncio
import itertools
import json
import re
import socket
import statistics
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
from bench_server import ROOT, free_port, percentile, start_benchmark_server

from calls.audiosocket.protocol import (
    Decoder,
    encode_audio,
    encode_hangup,
    encode_uuid,
)
from calls.voice.audio import silence


class _Line(asyncio.Protocol):
    """One call's leg as Asterisk holds it: frames in are timed on arrival, with no task per
    frame, so the measuring side costs little next to the server it measures."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.decoder = Decoder()
        self.arrivals: list[float] = []
        self.measuring = False
        self.errors = 0
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        for packet in self.decoder.feed(data):
            if not packet.is_audio:
                self.errors += 1  # a hang-up or anything else mid-benchmark is a failure
            elif self.measuring:
                self.arrivals.append(now)

    def connection_lost(self, exc) -> None:
        self.closed = True


async def _speak_silence(lines: list[_Line], stop: asyncio.Event) -> None:
    """Every line sends a 20 ms frame every 20 ms, on one absolute schedule, as Asterisk's
    timing source drives its channels."""
    frame = encode_audio(silence(8000), 8000)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while not stop.is_set():
        for line in lines:
            if not line.closed:
                line.transport.write(frame)
        next_at += 0.02
        await asyncio.sleep(max(0.0, next_at - loop.time()))


class _ServerProcesses:
    """The server's process and its workers (with --workers), measured together."""

    def __init__(self, pid: int) -> None:
        self.main = psutil.Process(pid)
        self.all = [self.main, *self.main.children()]

    def cpu_percent(self, interval=None) -> float:
        return sum(p.cpu_percent(interval) for p in self.all)

    def rss(self) -> int:
        return sum(p.memory_info().rss for p in self.all)


def _clock_lateness(metrics_ports: list[int]) -> dict[float, float]:
    """The server's frame-clock lateness histogram: cumulative tick counts by upper bound (s),
    summed over its worker processes."""
    counts: dict[float, float] = {}
    for port in metrics_ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            text = page.read().decode()
        for match in re.finditer(
            r'^callcenter_frame_clock_lateness_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M
        ):
            bound = float(match[1])
            counts[bound] = counts.get(bound, 0) + float(match[2])
    return counts


def _bucket_percentile(cumulative: dict[float, float], fraction: float) -> float | None:
    """The upper bound, in ms, of the bucket that holds the percentile (inf: beyond them all)."""
    total = cumulative.get(float("inf"), 0)
    if not total:
        return None
    for bound in sorted(cumulative):
        if cumulative[bound] >= fraction * total:
            return round(bound * 1000, 1)
    return None


async def run(args, server) -> dict:
    process = _ServerProcesses(server.process.pid)
    try:
        await asyncio.sleep(1.0)
        idle_rss = process.rss()
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        lines: list[_Line] = []
        stop = asyncio.Event()
        speaker = None
        for index in range(args.calls):
            _, line = await loop.create_connection(_Line, server.host, server.port)
            line.transport.write(encode_uuid(uuid.uuid4()))
            lines.append(line)
            if speaker is None:
                speaker = asyncio.create_task(_speak_silence(lines, stop))
            if index % 20 == 19:
                await asyncio.sleep(args.ramp / (args.calls / 20))
        ramp = time.monotonic() - started
        await asyncio.sleep(args.warmup)
        process.cpu_percent(None)
        clock_before = await asyncio.to_thread(_clock_lateness, server.metrics_ports)
        for line in lines:
            line.measuring = True
        await asyncio.sleep(args.seconds / 2)
        busy_rss = process.rss()
        await asyncio.sleep(args.seconds / 2)
        for line in lines:
            line.measuring = False
        cpu = process.cpu_percent(None)
        clock_after = await asyncio.to_thread(_clock_lateness, server.metrics_ports)
        results = [
            {"arrivals": line.arrivals, "errors": line.errors + int(line.closed)} for line in lines
        ]
        stop.set()
        await speaker
        for line in lines:
            if not line.closed:
                line.transport.write(encode_hangup())
                line.transport.close()
        await asyncio.sleep(0.5)
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
    ticks = {le: clock_after[le] - clock_before.get(le, 0) for le in clock_after}
    return {
        "calls": args.calls,
        "seconds": args.seconds,
        "ramp_seconds": round(ramp, 2),
        "frames_delivered_min": round(min(delivered), 4),
        "frames_delivered_mean": round(statistics.mean(delivered), 4),
        "jitter_ms_p50": round(percentile(jitter, 0.50), 2),
        "jitter_ms_p95": round(percentile(jitter, 0.95), 2),
        "jitter_ms_p99": round(percentile(jitter, 0.99), 2),
        "server_tick_lateness_ms_p50": _bucket_percentile(ticks, 0.50),
        "server_tick_lateness_ms_p99": _bucket_percentile(ticks, 0.99),
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
    if figures["jitter_ms_p95"] > args.max_jitter_p95:
        misses.append(
            f"frame jitter p95 {figures['jitter_ms_p95']} ms (limit {args.max_jitter_p95} ms)"
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
    parser.add_argument(
        "--ramp",
        type=float,
        default=4.0,
        help="seconds over which the calls arrive (20 at a time): 200 calls in 4 s is 50 calls a "
        "second, far above what a shop's trunk delivers, without every call's events in step",
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes (--workers)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--min-delivered", type=float, default=0.97)
    # A blocked loop (100 ms or more) or a per-frame cost that saturates the loop sends these far
    # past the limits. On the 2-core CI machine, which other tenants share, p50 is 0.4 ms but a
    # few loop stalls of 20-30 ms in every 10 s, whose cause is not found yet, put p95 at 2-13 ms
    # and p99 at 16-27 ms from run to run (docs/testing.md); the limits sit above that spread.
    parser.add_argument("--max-jitter-p95", type=float, default=20.0, help="ms")
    parser.add_argument("--max-jitter-p99", type=float, default=50.0, help="ms")
    parser.add_argument("--max-memory-per-call", type=float, default=5.0, help="MB")
    parser.add_argument("--output", type=Path, default=ROOT / "loadtests" / "results")
    args = parser.parse_args()
    # Django's set-up and migrate run before the loop starts.
    metrics_port = free_port()
    options = ["--max-calls", str(args.calls), "--idle-timeout", "30"]
    options += ["--metrics-port", str(metrics_port)]
    if args.workers > 1:  # processes on one port (SO_REUSEPORT), which must then be fixed
        options += ["--workers", str(args.workers), f"--port={free_port()}"]
    server = start_benchmark_server(*options)
    server.metrics_ports = [metrics_port + i for i in range(args.workers)]
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
