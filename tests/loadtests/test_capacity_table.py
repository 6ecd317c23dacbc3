"""The capacity table (loadtests/capacity_table.py) from a sweep's Locust summaries."""

import json

from loadtests.capacity_table import main


def _summary(p95: int, errors: int = 0, turns: int = 40) -> dict:
    return {
        "calls": 10,
        "turns": turns,
        "turn_latency_ms": {"p50": p95 // 2, "p95": p95, "p99": p95 + 100},
        "errors": errors,
        "error_rate": errors / (turns + 10),
        "server_cpu_percent_mean": 80.0,
    }


def test_the_largest_count_within_the_nfr_stops_at_the_first_miss(tmp_path, capsys):
    steps = {
        "w1-c5": _summary(900),
        "w1-c10": _summary(1500),
        "w1-c20": _summary(2600),  # too slow
        "w1-c30": _summary(1900),  # a lucky pass above a miss is not capacity
        "w2-c5": _summary(800),
        "w2-c10": _summary(1200, errors=1),  # an error misses the NFR too
    }
    for name, summary in steps.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(summary))
    (tmp_path / "w2-c20.log").write_text("run_audiosocket did not start\n")
    (tmp_path / "conditions.json").write_text(json.dumps({"cores": 2, "STT_WORKERS": "2"}))

    assert main([str(tmp_path)]) == 0

    figures = json.loads((tmp_path / "capacity.json").read_text())
    assert figures["largest_callers_within_nfr"] == {"1": 10, "2": 5}
    table = (tmp_path / "capacity.md").read_text()
    assert table == capsys.readouterr().out
    assert "| 1 | 20 | 10 | 40 | 1300 | 2600 | 2700 | 0 (0.0%) | 80.0 | no |" in table
    assert "| 2 | 20 | – |" in table and "run broke" in table
    assert "at most **10** callers" in table and "cores 2, STT_WORKERS 2" in table


def test_no_steps_is_an_error(tmp_path):
    assert main([str(tmp_path)]) == 1
