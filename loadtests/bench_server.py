"""What the benchmarks share: a real run_audiosocket on a throw-away database, and percentiles."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_benchmark_server(*args: str):
    """Migrate a throw-away SQLite database (unless DATABASE_URL is set) and start the server.

    Call it before the event loop starts: Django's set-up and migrate are synchronous.
    """
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
    if not os.environ.get("DATABASE_URL"):
        database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.helpers.server_process import start_server

    return start_server(*args, env={"LOG_LEVEL": "WARNING"})
