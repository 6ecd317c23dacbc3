"""Sample the server processes' memory, file descriptors and threads during a soak.

    python loadtests/memory_sampler.py --output soak-memory.csv --interval 15 \
        --process run_audiosocket=1234 --children run_audiosocket --process daphne=1240

Every `--interval` seconds (and once at start and once when stopped) it writes one CSV row per
process: its RSS, its USS (memory only it holds: read from /proc/<pid>/smaps_rollup; left empty
when that is slow or not readable), open file descriptors, threads and CPU % since the previous
sample. `--children LABEL` also samples every descendant of that process (the worker processes
of `run_audiosocket --workers N`, found afresh at each sample, so a restarted worker appears as
a new pid) under the label `LABEL.worker`. Rows are flushed as they are written, so the file is
whole up to the last sample even if the run is cut short. It stops on SIGTERM or SIGINT, or
when every process it samples has exited. `run_load_test.sh soak` starts and stops it;
`soak_report.py` reads the CSV.

Columns: time (UTC, ISO 8601), elapsed_s (since the sampler started), process (label), pid,
rss_mb, uss_mb, fds, threads, cpu_percent. MB are MiB (2**20 bytes), as in locustfile.py.
"""

import argparse
import csv
import signal
import sys
import threading
import time
from datetime import UTC, datetime

import psutil

COLUMNS = [
    "time",
    "elapsed_s",
    "process",
    "pid",
    "rss_mb",
    "uss_mb",
    "fds",
    "threads",
    "cpu_percent",
]
USS_TOO_SLOW = 0.25  # seconds for one process's USS: more, and USS is no longer read


class Sampler:
    def __init__(self, processes: dict[str, int], children: set[str]) -> None:
        self.roots = {label: psutil.Process(pid) for label, pid in processes.items()}
        self.children = children
        self.known: dict[int, psutil.Process] = {}  # cached, so cpu_percent has a baseline
        self.read_uss = True

    def targets(self) -> list[tuple[str, psutil.Process]]:
        found = []
        for label, root in self.roots.items():
            if not root.is_running():
                continue
            found.append((label, self._cached(root)))
            if label in self.children:
                try:
                    descendants = root.children(recursive=True)
                except psutil.Error:
                    descendants = []
                found += [(f"{label}.worker", self._cached(child)) for child in descendants]
        return found

    def _cached(self, process: psutil.Process) -> psutil.Process:
        if process.pid not in self.known:
            self.known[process.pid] = process
            try:
                process.cpu_percent()  # the first call only sets the baseline
            except psutil.Error:
                pass
        return self.known[process.pid]

    def sample(self, started: float) -> list[list]:
        now, elapsed = datetime.now(UTC).isoformat(timespec="seconds"), time.monotonic() - started
        rows = []
        for label, process in self.targets():
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    fds = process.num_fds()
                    threads = process.num_threads()
                    cpu = process.cpu_percent()
                uss = self._uss(process)
            except psutil.Error:  # it exited between listing and reading
                continue
            rows.append(
                [
                    now,
                    round(elapsed, 1),
                    label,
                    process.pid,
                    round(rss / 2**20, 1),
                    "" if uss is None else round(uss / 2**20, 1),
                    fds,
                    threads,
                    round(cpu, 1),
                ]
            )
        return rows

    def _uss(self, process: psutil.Process) -> int | None:
        if not self.read_uss:
            return None
        begun = time.perf_counter()
        try:
            uss = process.memory_full_info().uss
        except (psutil.AccessDenied, AttributeError, NotImplementedError):
            self.read_uss = False
            return None
        if time.perf_counter() - begun > USS_TOO_SLOW:
            self.read_uss = False
        return uss

    def alive(self) -> bool:
        return any(root.is_running() for root in self.roots.values())


def parse_process(text: str) -> tuple[str, int]:
    label, _, pid = text.partition("=")
    if not label or not pid.isdigit():
        raise argparse.ArgumentTypeError(f"expected LABEL=PID, not {text!r}")
    return label, int(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="the CSV file to write")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples")
    parser.add_argument(
        "--process",
        type=parse_process,
        action="append",
        default=[],
        metavar="LABEL=PID",
        help="a process to sample (repeat for each)",
    )
    parser.add_argument(
        "--children",
        action="append",
        default=[],
        metavar="LABEL",
        help="also sample the descendants of the process with this label",
    )
    args = parser.parse_args(argv)
    if not args.process:
        parser.error("nothing to sample: give at least one --process LABEL=PID")
    try:
        sampler = Sampler(dict(args.process), set(args.children))
    except psutil.NoSuchProcess as error:
        print(f"memory_sampler: {error}", file=sys.stderr)
        return 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    with open(args.output, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        file.flush()
        while True:
            writer.writerows(sampler.sample(started))
            file.flush()
            if stop.is_set() or not sampler.alive():
                break
            # the next sample is due `interval` after the previous one was due, not after it
            # ended: the series stays on a steady clock
            elapsed = time.monotonic() - started
            stop.wait(args.interval - elapsed % args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
