"""Starts the real `manage.py run_audiosocket` as a subprocess for tests, on a free port."""

import atexit
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (?P<host>[\d.:a-f]+):(?P<port>\d+)")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that need one given)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The URL of the database the tests use right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


@functools.cache
def _spool_dir() -> str:
    path = tempfile.mkdtemp(prefix="record-spool-")
    atexit.register(shutil.rmtree, path, True)
    return path


@dataclass
class ServerProcess:
    process: subprocess.Popen
    host: str
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "".join(self.output)

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> int:
        self.terminate()
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


# What the tests check is that a caller is heard and answered; how fast is measured in
# loadtests/. On a busy machine a transcription can wait longer than production's STT_TIMEOUT
# (10 s, after which the caller hears "say it again"), so the tests' servers wait longer.
# For the same reason a test's reply is never a filler ("one moment": calls/admission.py) and no
# call is turned away for speech-to-text's backlog; tests/calls/test_admission.py tests both.
TEST_SERVER_ENV = {"STT_TIMEOUT": "60", "STT_FILLER": "false", "STT_OVERLOAD_ROUTE": "none"}


def start_server(*args: str, env: dict | None = None, timeout: float = 60) -> ServerProcess:
    """Start run_audiosocket with `args` on the test database; returns when it listens."""
    command = ["manage.py", "run_audiosocket", "--port", "0", *args]
    return launch(command, READY, {**TEST_SERVER_ENV, **(env or {})}, timeout)


def launch(
    command: list[str], ready: re.Pattern, env: dict | None = None, timeout: float = 60
) -> ServerProcess:
    """Start `python <command>` from the project on the test database; returns once a line
    of its output matches `ready` (with named groups host and port when it listens)."""
    environment = {
        **os.environ,
        "ENV_FILE": os.devnull,
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        # Celery tasks run in the process itself, as on the embedded default, unless a test
        # gives a broker: nothing is left queued in the developer's Redis.
        "CELERY_BROKER_URL": "",
        # Records a killed test server left in its spool are not replayed into the next test's
        # database: the test run has a spool directory of its own (a test may give one).
        "RECORDER_SPOOL_DIR": _spool_dir(),
        # The test callers speak with espeak-ng's robot voice, which tiny.en hears worse in the
        # utterance's own window than in the 30 s one ("205 55 R16" as "0 25 55 R15"); callers
        # are human, and the product's default window is chosen on human recordings
        # (docs/engines.md, tests/voice/test_stt_models.py). A test may set another.
        "STT_WINDOW_MARGIN": os.environ.get("TEST_STT_WINDOW_MARGIN", "off"),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    started = threading.Event()
    found: dict[str, str] = {}

    def pump() -> None:
        # Keep reading so the process never blocks on a full pipe; remember everything it said.
        for line in process.stdout:
            output.append(line)
            match = ready.search(line)
            if match and not started.is_set():
                found.update(match.groupdict(), matched="yes")
                started.set()
        started.set()

    threading.Thread(target=pump, daemon=True).start()
    name = " ".join(command[:2])
    deadline = time.monotonic() + timeout
    while not started.wait(0.1):
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start:\n" + "".join(output))
    if not found:
        process.wait(5)
        raise RuntimeError(f"{name} exited with {process.returncode}:\n" + "".join(output))
    return ServerProcess(process, found.get("host", ""), int(found.get("port") or 0), output)
