"""Starts a real Celery worker (with its beat) as a subprocess on the test database."""

import re
from pathlib import Path

from tests.helpers.server_process import ServerProcess, launch

READY = re.compile(r"celery@\S+ ready")


def start_worker(broker_url: str, schedule: Path, env: dict | None = None) -> ServerProcess:
    command = ["-m", "celery", "-A", "callcenter", "worker", "--pool", "solo", "--beat"]
    command += ["--schedule", str(schedule), "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return launch(command, READY, {"CELERY_BROKER_URL": broker_url, **(env or {})}, timeout=60)
