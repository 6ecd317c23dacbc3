"""The capacity table from a sweep's Locust summaries: callers vs turn latency and errors, and the
largest number of callers within the NFR for each number of server processes.

    python loadtests/capacity_table.py loadtests/results/capacity-<time> [--p95-ms 2000]

Reads `w<workers>-c<callers>.json` (the summaries `locustfile.py` writes; `capacity_sweep.sh`
names them so) and `conditions.json` (what the sweep ran with), prints a Markdown table and writes
it to `capacity.md`, and the figures to `capacity.json`, in the same directory. A step that
wrote no summary (the server did not start, the run broke) is a row that misses the NFR.
"""

import argparse
import json
import re
import sys
from pathlib import Path

STEP = re.compile(r"^w(?P<workers>\d+)-c(?P<callers>\d+)\.json$")


def read_steps(directory: Path) -> list[dict]:
    steps = []
    for path in sorted(directory.iterdir()):
        match = STEP.match(path.name)
        if not match:
            continue
        summary = json.loads(path.read_text())
        steps.append(
            {"workers": int(match["workers"]), "callers": int(match["callers"]), **summary}
        )
    # Steps the sweep started but that left no summary: their log is there.
    for log in directory.glob("w*-c*.log"):
        match = STEP.match(log.name.removesuffix(".log") + ".json")
        if match and not (directory / (log.name.removesuffix(".log") + ".json")).exists():
            workers, callers = int(match["workers"]), int(match["callers"])
            steps.append({"workers": workers, "callers": callers, "broken": True})
    return sorted(steps, key=lambda step: (step["workers"], step["callers"]))


def within_nfr(step: dict, p95_ms: float, max_error_rate: float) -> bool:
    if step.get("broken") or not step.get("turns"):
        return False
    return step["turn_latency_ms"]["p95"] < p95_ms and step["error_rate"] <= max_error_rate


def largest_within(steps: list[dict], p95_ms: float, max_error_rate: float) -> dict[int, int]:
    """Per number of processes, the most callers such that every step up to it met the NFR
    (a pass above a miss is noise, not capacity); 0 when even the smallest missed."""
    largest: dict[int, int] = {}
    for workers in sorted({step["workers"] for step in steps}):
        largest[workers] = 0
        for step in (s for s in steps if s["workers"] == workers):
            if not within_nfr(step, p95_ms, max_error_rate):
                break
            largest[workers] = step["callers"]
    return largest


def table(steps: list[dict], p95_ms: float, max_error_rate: float, conditions: dict) -> str:
    lines = []
    if conditions:
        lines.append(
            "Conditions: "
            + ", ".join(f"{key} {value}" for key, value in conditions.items() if value != "")
        )
        lines.append("")
    lines += [
        "| processes | callers | calls | turns | turn p50 ms | turn p95 ms | turn p99 ms "
        "| errors (rate) | server CPU % | within NFR |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        if step.get("broken"):
            lines.append(
                f"| {step['workers']} | {step['callers']} | – | – | – | – | – | "
                "run broke (see its log) | – | no |"
            )
            continue
        latency = step["turn_latency_ms"]
        # Sampled in the process LOAD_SERVER_PID names: with --workers, only the supervisor.
        cpu = step.get("server_cpu_percent_mean", "–") if step["workers"] == 1 else "–"
        lines.append(
            f"| {step['workers']} | {step['callers']} | {step['calls']} | {step['turns']} "
            f"| {latency['p50']} | {latency['p95']} | {latency['p99']} "
            f"| {step['errors']} ({step['error_rate']:.1%}) | {cpu} "
            f"| {'yes' if within_nfr(step, p95_ms, max_error_rate) else 'no'} |"
        )
    lines.append("")
    nfr = f"turn latency p95 < {p95_ms:g} ms, error rate <= {max_error_rate:.0%}"
    for workers, callers in largest_within(steps, p95_ms, max_error_rate).items():
        lines.append(
            f"- {workers} process(es): at most **{callers}** callers within the NFR ({nfr})"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--p95-ms", type=float, default=2000)
    parser.add_argument("--max-error-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    steps = read_steps(args.directory)
    if not steps:
        print(f"no sweep steps in {args.directory}", file=sys.stderr)
        return 1
    conditions_path = args.directory / "conditions.json"
    conditions = json.loads(conditions_path.read_text()) if conditions_path.exists() else {}
    text = table(steps, args.p95_ms, args.max_error_rate, conditions)
    (args.directory / "capacity.md").write_text(text)
    largest = largest_within(steps, args.p95_ms, args.max_error_rate)
    figures = {
        "conditions": conditions,
        "nfr": {"turn_latency_p95_ms_below": args.p95_ms, "max_error_rate": args.max_error_rate},
        "steps": steps,
        "largest_callers_within_nfr": {str(w): c for w, c in largest.items()},
    }
    (args.directory / "capacity.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
