"""Shared fixtures for the whole suite."""

import inspect
import os

import pytest
from asgiref.sync import SyncToAsync
from django.db import connections

from tests.agent.corpus_table import pytest_runtest_logreport, pytest_terminal_summary  # noqa: F401
from tests.factories import make_staff_user

# Modules measured to take minutes (seconds of one worker, PostgreSQL + Redis, 2026-11-30), in
# that order. pytest-xdist's --dist loadfile hands each worker whole modules in collection order
# (with --no-loadscope-reorder, in pyproject.toml: by default it orders them by their number of
# tests, which put the many quick parametrised modules first), so these go first and the many
# short modules fill in at the end: the workers finish together instead of one running a long
# module alone after the other is done (longest first). A module is never shared out, so none
# should take much longer than the suite's time divided by the workers: the spoken orders are
# two modules for that. Remeasure with --durations=0 when modules are added.
LONGEST_FIRST = (
    "tests/e2e/test_spoken_dialogue_russian_and_llm.py",  # 238 s
    "tests/e2e/test_call_languages.py",  # 217 s
    "tests/e2e/test_spoken_dialogue.py",  # 197 s
    "tests/e2e/test_call_scenarios.py",  # 153 s
    "tests/e2e/test_asterisk.py",  # 150 s
    "tests/e2e/test_order_by_phone.py",  # 140 s
    "tests/agent/test_llm_corpus.py",  # 140 s
    "tests/e2e/test_faults.py",  # 115 s
)


# Processes per core under `-n auto`. The E2E calls, most of the suite's time, wait on real-time
# audio: with a process per core a 2-core machine stood 60-90 % idle through them (vmstat,
# 2026-11-30), so twice as many processes as cores fill that time with other modules. At most
# MAX_WORKERS: each process starts servers of its own and loads the speech models.
WORKERS_PER_CORE = 2
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(WORKERS_PER_CORE * (cores or 1), MAX_WORKERS))


def pytest_collection_modifyitems(items) -> None:
    """The longest modules first, then the other E2E modules (each waits on real-time calls),
    then the rest, each group in its collection order (a stable sort)."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}

    def order(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in rank:
            return rank[path]
        return len(rank) + (0 if path.startswith("tests/e2e/") else 1)

    items.sort(key=order)


def pytest_configure(config) -> None:
    from django.conf import settings

    # Async code reaches the database from channels' own thread; with persistent connections
    # that thread would keep the test database open and PostgreSQL could not drop it.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    _a_channel_layer_per_test_worker(settings)


def _a_channel_layer_per_test_worker(settings) -> None:
    """Under pytest-xdist the workers share one Redis, and the live-calls group is global: the
    events of calls placed by one worker's tests would reach the other worker's sockets. Each
    worker takes a prefix of its own, in the environment too, so the servers its tests start
    (run_audiosocket, Daphne) publish where its own consumers listen."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    prefix = f"{os.environ.get('CHANNEL_LAYER_PREFIX', 'asgi')}-{worker}"
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG")
    if config is not None and "prefix" in config:  # the in-memory layer is per process anyway
        config["prefix"] = prefix


@pytest.fixture(autouse=True)
def _celery_tasks_run_in_process():
    """In the test process, queued tasks run where they are queued, even when REDIS_URL makes
    Redis the broker: nothing is left in a queue nobody reads. tests/test_celery_worker.py runs
    them through Redis in a real worker."""
    from callcenter.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def staff_client(client, db):
    """A test client logged in as a staff member with every permission."""
    client.force_login(make_staff_user())
    return client


@pytest.fixture(autouse=True)
def _close_connections_left_by_async_code(request):
    """Async ORM calls run in asgiref's single sync thread, which keeps its connection open
    after the test; close it there, or PostgreSQL cannot drop the test database at the end."""
    yield
    if inspect.iscoroutinefunction(request.function):
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture
def fake_speech_api():
    """A local server speaking the OpenAI audio and Google Cloud speech APIs (tests only)."""
    from tests.helpers.fake_speech_api import FakeSpeechAPI

    api = FakeSpeechAPI().start()
    yield api
    api.stop()


@pytest.fixture
def receivers():
    """A local webhook receiver and HTTP SMS gateway for order notifications (tests only)."""
    from tests.helpers.fake_receivers import FakeReceivers

    fake = FakeReceivers().start()
    yield fake
    fake.stop()
