"""A small load run on the remote speech engines, end to end: `ENGINES=remote
loadtests/run_load_test.sh` with a few callers who order tires through the speech stand-in, the
real run_audiosocket, Daphne and (with Redis) a Celery worker, on the test database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import Order

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.e2e]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def test_callers_order_tires_on_the_remote_engines_and_the_report_says_so():
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PYTHON": sys.executable,
        "ENGINES": "remote",
        "LOAD_USERS": "3",
        "RUN_TIME": "10s",
        "LOAD_STOP_TIMEOUT": "150",
        "LOAD_CALL_SPREAD": "3",
        # A quick API and voice (short replies), no injected failures: this checks the pipeline,
        # not this machine's speed (the profiles measure that).
        "STANDIN_ARGS": "--chars-per-second 60 --error-rate 0 --timeout-rate 0 "
        "--stt-median-ms 100 --stt-p95-ms 200 "
        "--tts-first-byte-median-ms 80 --tts-first-byte-p95-ms 150",
    }
    run = subprocess.run(
        ["bash", str(ROOT / "loadtests" / "run_load_test.sh"), "quick"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    reports = sorted((ROOT / "loadtests" / "results").glob("quick-*.json"))
    report = json.loads(reports[-1].read_text())
    assert report["errors"] == 0 and report["turns"] >= 3 * 8, output
    remote = report["remote"]
    assert remote["missed"] == []
    # Every caller went through the whole dialogue: an order each, and its notifications sent.
    assert remote["database"]["orders_placed"] >= 3, output
    assert Order.objects.count() == remote["database"]["orders_placed"]
    assert remote["database"]["notifications_sent"] >= 2 * remote["database"]["orders_placed"]
    assert remote["standin"].get("not_recognised", 0) == 0
    pools = remote["http_pools"]
    assert pools["google speech-to-text"]["requests"] >= 3 * 8
    assert pools["google speech-to-text"]["no_connection_in_time"] == 0
    assert remote["database"]["recorder_lag_ms"]["bot"]["p95"] is not None
