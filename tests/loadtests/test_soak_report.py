"""The soak's verdict (loadtests/soak_report.py) from synthetic memory samples."""

import json
import multiprocessing
import os
import time

import pytest

from loadtests import memory_sampler
from loadtests.soak_report import (
    build_report,
    format_report,
    judge_errors,
    main,
    parse_duration,
    parse_samples,
    slope_error_per_hour,
    slope_per_hour,
    warmup_seconds,
)

HEADER = "time,elapsed_s,process,pid,rss_mb,uss_mb,fds,threads,cpu_percent\n"


def soak_csv(
    rss, fds=None, threads=None, interval=15, process="run_audiosocket", pid=100, uss=True
) -> str:
    """A memory_sampler.py CSV: one process, a sample every `interval` seconds; rss(t), fds(t),
    threads(t) are functions of the elapsed seconds."""
    fds = fds or (lambda t: 40)
    threads = threads or (lambda t: 12)
    rows = []
    for i in range(int(1800 / interval) + 1):
        t = i * interval
        uss_mb = f"{rss(t) - 100:.1f}" if uss else ""
        rows.append(
            f"2026-01-01T00:00:00+00:00,{t},{process},{pid},{rss(t):.1f},{uss_mb},"
            f"{int(fds(t))},{int(threads(t))},5.0\n"
        )
    return HEADER + "".join(rows)


LOCUST = {
    "calls": 120,
    "calls_failed": 3,
    "turns": 350,
    "turns_failed": 4,
    "requests": 1400,
    "errors": 7,
    "error_rate": 0.005,
    "turn_latency_ms": {"p50": 1100, "p95": 1900, "p99": 2400},
    "nfr": {"missed": []},
}


def judge(text: str, locust=LOCUST, **limits) -> dict:
    return build_report(parse_samples(text), locust, run_s=1800, **limits)


def test_flat_memory_passes():
    jitter = [0.0, 1.5, -0.8, 0.4, -1.2, 0.9]  # allocator noise, no trend
    report = judge(soak_csv(lambda t: 900 + jitter[int(t / 15) % len(jitter)]))
    assert report["passed"], report["failures"]
    process = report["processes"][0]
    assert abs(process["rss_mb_per_hour"]) < 5
    assert process["rss_mb_start"] == pytest.approx(900, abs=2)
    assert process["steady_samples"] == len(range(180, 1801, 15))


def test_steady_growth_above_the_threshold_fails():
    report = judge(soak_csv(lambda t: 900 + 80 * t / 3600))  # 80 MB/h
    assert not report["passed"]
    process = report["processes"][0]
    assert process["rss_mb_per_hour"] == pytest.approx(80, abs=0.5)
    assert process["uss_mb_per_hour"] == pytest.approx(80, abs=0.5)
    assert "RSS grows +80.0 MB/h" in report["failures"][0]


def test_growth_below_the_threshold_passes_and_the_threshold_is_a_knob():
    csv = soak_csv(lambda t: 900 + 30 * t / 3600)
    assert judge(csv)["passed"]
    assert not judge(csv, max_growth_mb_per_hour=20)["passed"]


def test_a_warm_up_spike_then_flat_passes():
    # the models load and caches fill in the first two minutes: +600 MB, then nothing
    report = judge(soak_csv(lambda t: 300 + 600 * min(t, 120) / 120))
    assert report["passed"], report["failures"]
    assert report["warmup_s"] == 180
    process = report["processes"][0]
    assert process["rss_mb_per_hour"] == 0
    assert process["rss_mb_max"] == 900


def test_fd_growth_fails():
    report = judge(soak_csv(lambda t: 900, fds=lambda t: 40 + t / 10))  # +162 fds over 27 min
    assert not report["passed"]
    assert report["processes"][0]["fd_growth"] == pytest.approx(162, abs=1)
    assert "file descriptors grow" in report["failures"][0]


def test_fds_that_come_and_go_with_calls_pass():
    report = judge(soak_csv(lambda t: 900, fds=lambda t: 240 + (30 if int(t / 15) % 2 else -30)))
    assert report["passed"], report["failures"]


def test_each_process_is_judged_on_its_own():
    text = soak_csv(lambda t: 900) + soak_csv(
        lambda t: 120 + 100 * t / 3600, process="daphne", pid=200
    ).removeprefix(HEADER)
    report = judge(text)
    assert [p["passed"] for p in report["processes"]] == [True, False]
    assert report["failures"] == [
        "daphne (pid 200) RSS grows +100.0 MB/h in the steady state (limit 50 MB/h)"
    ]


def test_a_process_that_stops_being_sampled_fails():
    text = soak_csv(lambda t: 900)
    worker = soak_csv(lambda t: 500, process="run_audiosocket.worker", pid=101)
    died = "".join(line + "\n" for line in worker.splitlines()[1:60])  # gone after 885 s
    report = judge(text + died)
    assert not report["passed"]
    assert "run_audiosocket.worker (pid 101) was last sampled" in report["failures"][0]


def test_a_run_too_short_to_judge_fails():
    samples = parse_samples(soak_csv(lambda t: 900))[:3]  # 30 s: 2 samples after the warm-up
    report = build_report(samples, LOCUST, run_s=30)
    assert not report["passed"]
    assert "too short" in report["failures"][-1]


def test_errors_are_reported_and_judged_only_with_a_limit():
    csv = soak_csv(lambda t: 900)
    assert judge(csv)["passed"]
    assert judge(csv)["locust"]["errors"] == 7
    assert judge(csv, max_errors="10")["passed"]
    assert not judge(csv, max_errors="0")["passed"]
    assert judge(csv, max_errors="1%")["passed"]
    assert judge_errors(LOCUST, "0.1%") == ["error rate 0.50% > 0.1% (SOAK_MAX_ERRORS)"]


def test_the_text_report_has_the_figures():
    text = format_report(judge(soak_csv(lambda t: 900 + 80 * t / 3600)))
    assert "run_audiosocket" in text and "+80.0" in text
    assert "turn latency p50/p95/p99 1100/1900/2400 ms" in text
    assert "SOAK FAILED" in text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("3m", 180), ("30m", 1800), ("1h30m", 5400), ("2m30s", 150)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_nonsense():
    with pytest.raises(ValueError):
        parse_duration("3 minutes")


def test_warm_up_is_a_fifth_of_the_run_or_three_minutes():
    assert warmup_seconds(180) == 36
    assert warmup_seconds(1800) == 180


def test_slope_per_hour():
    assert slope_per_hour([(0, 10), (1800, 20), (3600, 30)]) == pytest.approx(20)
    assert slope_per_hour([(0, 10)]) is None


def test_slope_error_per_hour():
    assert slope_error_per_hour([(0, 10), (1800, 20), (3600, 30)]) == pytest.approx(0)
    assert slope_error_per_hour([(0, 10), (1800, 30), (3600, 30)]) > 0
    assert slope_error_per_hour([(0, 10), (3600, 30)]) is None


def test_a_short_noisy_run_is_flagged_as_not_conclusive():
    noise = [0, 40, -30, 25, -20, 35, -40, 10]
    samples = parse_samples(soak_csv(lambda t: 300 + noise[int(t / 15) % len(noise)]))[:13]
    report = build_report(samples, LOCUST, run_s=180)
    assert report["processes"][0]["rss_mb_per_hour_error"] > 25
    assert "not conclusive" in format_report(report)
    assert "not conclusive" not in format_report(judge(soak_csv(lambda t: 900)))


def test_main_writes_the_report_and_merges_it_into_the_locust_summary(tmp_path, capsys):
    memory = tmp_path / "soak-memory.csv"
    memory.write_text(soak_csv(lambda t: 900))
    summary = tmp_path / "soak.json"
    summary.write_text(json.dumps(LOCUST))
    output = tmp_path / "soak-soak.json"
    status = main(
        [
            "--memory",
            str(memory),
            "--locust",
            str(summary),
            "--run-time",
            "30m",
            "--output",
            str(output),
        ]
    )
    assert status == 0
    assert json.loads(output.read_text())["passed"] is True
    assert json.loads(summary.read_text())["soak"]["passed"] is True
    assert "SOAK PASSED" in capsys.readouterr().out


def _idle(seconds: float) -> None:
    time.sleep(seconds)


def test_the_sampler_reads_a_process_and_its_children():
    child = multiprocessing.get_context("spawn").Process(target=_idle, args=(10,))
    child.start()
    try:
        sampler = memory_sampler.Sampler({"server": os.getpid()}, {"server"})
        rows = sampler.sample(time.monotonic())
    finally:
        child.terminate()
        child.join()
    by_pid = {row[3]: row for row in rows}
    assert by_pid[os.getpid()][2] == "server"
    assert by_pid[child.pid][2] == "server.worker"
    _, _, _, _, rss_mb, _, fds, threads, _ = by_pid[os.getpid()]
    assert rss_mb > 10 and fds > 0 and threads >= 1
