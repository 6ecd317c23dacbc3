"""The soak's report and verdict: does the servers' memory grow without bound?

    python loadtests/soak_report.py --memory soak-<time>-memory.csv --locust soak-<time>.json \
        --run-time 30m --output soak-<time>-soak.json

It reads the samples of `memory_sampler.py` and Locust's summary (`locustfile.py`), and reports
per server process (one row per pid): RSS at the start of the steady state, at its end, the
maximum, and its growth per hour from a least-squares slope over the steady-state samples; the
same slope for USS when it was sampled; open file descriptors and threads at the start and end
of the steady state and their growth (the least-squares line's rise over the steady state, so
that calls coming and going do not make it jump); and Locust's calls, turns, errors and turn
latency. The steady state starts after a warm-up of 20 % of the run or 3 minutes, whichever is
less (the speech models load, the callers ramp up, caches fill), and ends with the run (the
callers' hang-ups after it are not steady).

The verdict fails (exit 1) when a process's RSS slope exceeds --max-growth-mb-per-hour
(SOAK_MAX_GROWTH_MB_PER_HOUR), when its fds grow by more than --max-fd-growth
(SOAK_MAX_FD_GROWTH: leaked sockets), when a process was not sampled to the end (it exited or
was restarted), when no process has enough steady-state samples to judge, and, only when
--max-errors (SOAK_MAX_ERRORS) is given, when Locust's errors exceed it. It writes the report as
JSON to --output and, under "soak", into Locust's summary.

The computation (`analyse`, `judge_errors`, `build_report`, `format_report`) is pure: it takes
samples and figures and returns them judged, with no I/O; `main` does the reading and writing.
"""

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# 50 MB/h: at the production load (200 callers, calls of ~50 s: ~14 000 calls an hour) it is a
# leak of ~3.5 KB per call, small enough to catch a call's buffers, sockets or
# conversation state being kept; a real leak of that size still costs 1.2 GB a day, which a
# server running for weeks cannot carry. It stays clear of the noise: run_audiosocket's RSS
# swings by tens of MB between samples as the speech engines allocate and free their buffers
# (sd ~18 MB at 5 callers on the embedded engines), which over a 30-minute soak's 27-minute
# steady state (108 samples) leaves a slope standard error of ~13 MB/h: 50 is ~4 of those, so
# noise alone does not fail a soak, and a slower leak (~1 GB a month) is not what a soak finds.
# A short run cannot judge: over 2.5 minutes the same noise makes the slope +/- hundreds of MB/h
# (the report says so).
DEFAULT_MAX_GROWTH_MB_PER_HOUR = 50.0
# 50 fds over the steady state: a leaked socket per call leaks hundreds to thousands in a soak,
# while calls coming and going move the count by tens at most (the fitted line smooths it).
DEFAULT_MAX_FD_GROWTH = 50
WARMUP_FRACTION = 0.2
WARMUP_MAX_S = 180.0
MIN_STEADY_SAMPLES = 3


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    process: str
    pid: int
    rss_mb: float
    uss_mb: float | None
    fds: int
    threads: int


def parse_samples(text: str) -> list[Sample]:
    """The rows of memory_sampler.py's CSV."""
    samples = []
    for row in csv.DictReader(io.StringIO(text)):
        samples.append(
            Sample(
                elapsed_s=float(row["elapsed_s"]),
                process=row["process"],
                pid=int(row["pid"]),
                rss_mb=float(row["rss_mb"]),
                uss_mb=float(row["uss_mb"]) if row.get("uss_mb") else None,
                fds=int(row["fds"]),
                threads=int(row["threads"]),
            )
        )
    return samples


def parse_duration(text: str) -> float:
    """Seconds in a Locust run time: '90', '90s', '3m', '1h30m', '2m30s'."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def warmup_seconds(run_s: float) -> float:
    """The warm-up: 20 % of the run or 3 minutes, whichever is less."""
    return min(WARMUP_FRACTION * run_s, WARMUP_MAX_S)


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """The least-squares slope of (seconds, value) points, in value per hour."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx * 3600


def slope_error_per_hour(points: list[tuple[float, float]]) -> float | None:
    """The standard error of the least-squares slope, per hour: how far the noise alone can move
    it (about two of these either way)."""
    n = len(points)
    if n < 3:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    residuals = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in points)
    return (residuals / (n - 2) / sxx) ** 0.5 * 3600


def _series_report(series: list[Sample], start: float, end: float, last_round: float) -> dict:
    steady = [s for s in series if start <= s.elapsed_s <= end]
    out: dict = {
        "process": series[0].process,
        "pid": series[0].pid,
        "samples": len(series),
        "steady_samples": len(steady),
        "first_s": series[0].elapsed_s,
        "last_s": series[-1].elapsed_s,
        "sampled_to_end": series[-1].elapsed_s >= last_round,
        "rss_mb_max": max(s.rss_mb for s in series),
    }
    if not steady:
        return out
    span_h = (steady[-1].elapsed_s - steady[0].elapsed_s) / 3600
    rss_points = [(s.elapsed_s, s.rss_mb) for s in steady]
    rss_slope, rss_error = slope_per_hour(rss_points), slope_error_per_hour(rss_points)
    fd_slope = slope_per_hour([(s.elapsed_s, s.fds) for s in steady])
    thread_slope = slope_per_hour([(s.elapsed_s, s.threads) for s in steady])
    out |= {
        "rss_mb_start": steady[0].rss_mb,
        "rss_mb_end": steady[-1].rss_mb,
        "rss_mb_per_hour": None if rss_slope is None else round(rss_slope, 1),
        "rss_mb_per_hour_error": None if rss_error is None else round(rss_error, 1),
        "fds_start": steady[0].fds,
        "fds_end": steady[-1].fds,
        "fds_max": max(s.fds for s in series),
        "fd_growth": None if fd_slope is None else round(fd_slope * span_h, 1),
        "threads_start": steady[0].threads,
        "threads_end": steady[-1].threads,
        "threads_max": max(s.threads for s in series),
        "thread_growth": None if thread_slope is None else round(thread_slope * span_h, 1),
    }
    if all(s.uss_mb is not None for s in steady):
        uss_slope = slope_per_hour([(s.elapsed_s, s.uss_mb) for s in steady])
        out |= {
            "uss_mb_start": steady[0].uss_mb,
            "uss_mb_end": steady[-1].uss_mb,
            "uss_mb_per_hour": None if uss_slope is None else round(uss_slope, 1),
        }
    return out


def analyse(
    samples: list[Sample],
    *,
    run_s: float | None = None,
    max_growth_mb_per_hour: float = DEFAULT_MAX_GROWTH_MB_PER_HOUR,
    max_fd_growth: float = DEFAULT_MAX_FD_GROWTH,
    min_steady_samples: int = MIN_STEADY_SAMPLES,
) -> dict:
    """Judge the memory samples: per process (label and pid) its figures, and the failures.

    `run_s` is the load's duration from the sampler's start (the samples' span when None): the
    steady state is [warm-up, run_s]."""
    if not samples:
        return {"processes": [], "failures": ["no memory samples"], "steady_state_s": None}
    last_round = max(s.elapsed_s for s in samples)
    run_s = last_round if run_s is None else run_s
    start, end = warmup_seconds(run_s), run_s
    by_series: dict[tuple[str, int], list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s.elapsed_s):
        by_series.setdefault((sample.process, sample.pid), []).append(sample)

    processes, failures = [], []
    judged = 0
    for series in by_series.values():
        report = _series_report(series, start, end, last_round)
        name = f"{report['process']} (pid {report['pid']})"
        reasons = []
        if not report["sampled_to_end"]:
            reasons.append(
                f"{name} was last sampled at {report['last_s']:.0f} s, before the end of the"
                " run: it exited or was restarted"
            )
        if report["steady_samples"] < min_steady_samples:
            report["judged"] = False
        else:
            report["judged"] = True
            judged += 1
            slope, fd_growth = report["rss_mb_per_hour"], report["fd_growth"]
            if slope is not None and slope > max_growth_mb_per_hour:
                reasons.append(
                    f"{name} RSS grows {slope:+.1f} MB/h in the steady state"
                    f" (limit {max_growth_mb_per_hour:g} MB/h)"
                )
            if fd_growth is not None and fd_growth > max_fd_growth:
                reasons.append(
                    f"{name} open file descriptors grow by {fd_growth:+.0f} over the steady state"
                    f" (limit {max_fd_growth:g}): leaked sockets or files"
                )
        report["passed"] = not reasons
        failures += reasons
        processes.append(report)
    if not judged:
        failures.append(
            f"no process has {min_steady_samples} steady-state samples: the run is too short"
            " to judge (run longer, or sample more often)"
        )
    return {
        "run_s": run_s,
        "warmup_s": round(start, 1),
        "steady_state_s": [round(start, 1), round(end, 1)],
        "max_growth_mb_per_hour": max_growth_mb_per_hour,
        "max_fd_growth": max_fd_growth,
        "processes": processes,
        "failures": failures,
    }


def judge_errors(locust: dict, max_errors: str | None) -> list[str]:
    """Failures for Locust's errors, only when a limit is set: a count ('0', '25') or a rate of
    all requests ('1%', '0.5%')."""
    if max_errors is None or max_errors.strip() == "":
        return []
    errors, rate = locust.get("errors", 0), locust.get("error_rate", 0.0)
    limit = max_errors.strip()
    if limit.endswith("%"):
        if rate * 100 > float(limit[:-1]):
            return [f"error rate {rate:.2%} > {limit} (SOAK_MAX_ERRORS)"]
        return []
    if errors > int(limit):
        return [f"{errors} errors > {limit} (SOAK_MAX_ERRORS)"]
    return []


def locust_figures(locust: dict) -> dict:
    keys = (
        "calls",
        "calls_failed",
        "turns",
        "turns_failed",
        "requests",
        "errors",
        "error_rate",
        "turn_latency_ms",
    )
    return {key: locust[key] for key in keys if key in locust}


def build_report(
    samples: list[Sample],
    locust: dict,
    *,
    run_s: float | None = None,
    max_growth_mb_per_hour: float = DEFAULT_MAX_GROWTH_MB_PER_HOUR,
    max_fd_growth: float = DEFAULT_MAX_FD_GROWTH,
    max_errors: str | None = None,
) -> dict:
    """The whole soak report: the memory analysis, Locust's figures and the verdict."""
    memory = analyse(
        samples,
        run_s=run_s,
        max_growth_mb_per_hour=max_growth_mb_per_hour,
        max_fd_growth=max_fd_growth,
    )
    failures = memory.pop("failures") + judge_errors(locust, max_errors)
    if locust and locust.get("nfr", {}).get("missed"):
        failures += [f"Locust: {missed}" for missed in locust["nfr"]["missed"]]
    return {
        **memory,
        "max_errors": max_errors or None,
        "locust": locust_figures(locust),
        "failures": failures,
        "passed": not failures,
    }


def _fmt(value, spec: str = ".1f", signed: bool = False) -> str:
    if value is None:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def format_report(report: dict) -> str:
    """The report as text for the terminal."""
    lines = []
    if report.get("steady_state_s"):
        start, end = report["steady_state_s"]
        lines.append(
            f"=== soak report: run {report['run_s'] / 60:.1f} min, warm-up {start:.0f} s,"
            f" steady state {start:.0f}-{end:.0f} s"
        )
    header = (
        f"{'process':<24}{'pid':>8}{'n':>4}{'RSS start':>11}{'end':>8}{'max':>8}"
        f"{'MB/h':>9}{'+/-':>7}{'USS MB/h':>10}{'fds':>11}{'fd +':>7}{'threads':>9}{'thr +':>7}"
    )
    lines += ["RSS and USS in MB; n = steady-state samples; growth over the steady state", header]
    for p in report["processes"]:
        fds = f"{_fmt(p.get('fds_start'), 'd')}->{_fmt(p.get('fds_end'), 'd')}"
        threads = f"{_fmt(p.get('threads_start'), 'd')}->{_fmt(p.get('threads_end'), 'd')}"
        mark = "" if p["passed"] else "  FAIL"
        if not p.get("judged"):
            mark += "  (too few samples to judge)"
        lines.append(
            f"{p['process']:<24}{p['pid']:>8}{p['steady_samples']:>4}"
            f"{_fmt(p.get('rss_mb_start')):>11}{_fmt(p.get('rss_mb_end')):>8}"
            f"{_fmt(p['rss_mb_max']):>8}{_fmt(p.get('rss_mb_per_hour'), signed=True):>9}"
            f"{_fmt(p.get('rss_mb_per_hour_error'), '.0f'):>7}"
            f"{_fmt(p.get('uss_mb_per_hour'), signed=True):>10}{fds:>11}"
            f"{_fmt(p.get('fd_growth'), '.0f', True):>7}{threads:>9}"
            f"{_fmt(p.get('thread_growth'), '.0f', True):>7}{mark}"
        )
    noisy = [
        p["process"]
        for p in report["processes"]
        if p.get("judged")
        and (p.get("rss_mb_per_hour_error") or 0) * 2 > report["max_growth_mb_per_hour"]
    ]
    if noisy:
        lines.append(
            f"note: the RSS slope of {', '.join(sorted(set(noisy)))} is uncertain by more than"
            " the limit (+/- is one standard error): the steady state is too short for its noise,"
            " so this memory verdict is not conclusive; run longer (the soak's 30 minutes)"
        )
    loc = report.get("locust") or {}
    if loc:
        lat = loc.get("turn_latency_ms", {})
        lines.append(
            f"calls {loc.get('calls', 0)} (failed {loc.get('calls_failed', 0)}), turns"
            f" {loc.get('turns', 0)} (unanswered {loc.get('turns_failed', 0)}), errors"
            f" {loc.get('errors', 0)} of {loc.get('requests', 0)} requests"
            f" ({loc.get('error_rate', 0):.2%}), turn latency p50/p95/p99"
            f" {lat.get('p50', '-')}/{lat.get('p95', '-')}/{lat.get('p99', '-')} ms"
        )
    else:
        lines.append("no Locust summary")
    errors = (
        f"errors <= {report['max_errors']}"
        if report.get("max_errors")
        else "errors reported only (SOAK_MAX_ERRORS unset)"
    )
    lines.append(
        f"limits: RSS slope <= {report.get('max_growth_mb_per_hour', '-'):g} MB/h,"
        f" fd growth <= {report.get('max_fd_growth', '-'):g}, {errors}"
    )
    if report["passed"]:
        lines.append("SOAK PASSED: no unbounded growth")
    else:
        lines.append("SOAK FAILED:")
        lines += [f"  - {reason}" for reason in report["failures"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", required=True, help="memory_sampler.py's CSV")
    parser.add_argument("--locust", help="locustfile.py's summary JSON (updated with the report)")
    parser.add_argument("--run-time", help="the load's duration (Locust's --run-time)")
    parser.add_argument("--output", help="where to write the report as JSON")
    parser.add_argument(
        "--max-growth-mb-per-hour", type=float, default=DEFAULT_MAX_GROWTH_MB_PER_HOUR
    )
    parser.add_argument("--max-fd-growth", type=float, default=DEFAULT_MAX_FD_GROWTH)
    parser.add_argument("--max-errors", help="a count ('0') or a rate ('1%%'); unset: reported")
    args = parser.parse_args(argv)

    samples = parse_samples(Path(args.memory).read_text())
    locust_path = Path(args.locust) if args.locust else None
    locust = json.loads(locust_path.read_text()) if locust_path and locust_path.exists() else {}
    report = build_report(
        samples,
        locust,
        run_s=parse_duration(args.run_time) if args.run_time else None,
        max_growth_mb_per_hour=args.max_growth_mb_per_hour,
        max_fd_growth=args.max_fd_growth,
        max_errors=args.max_errors,
    )
    report["memory_csv"] = str(args.memory)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    if locust:
        locust["soak"] = {k: v for k, v in report.items() if k != "locust"}
        locust_path.write_text(json.dumps(locust, indent=2) + "\n")
    print(format_report(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
