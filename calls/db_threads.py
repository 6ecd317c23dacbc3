"""The call server's database work, off the event loop, in threads of its own.

channels' `database_sync_to_async` runs every ORM unit of a process in one thread, and opens and
closes a connection around each (CONN_MAX_AGE is 0 under ASGI). At 200 calls on remote speech
engines that one thread was the queue every turn waited in: agents' searches and orders, the
recorder's batches and the caller look-ups one after another, each paying a new PostgreSQL
connection. Here each kind of work has lanes of its own (a lane is one thread with one
connection):

- "agent": CALL_DB_THREADS lanes for the agents' turns and the caller look-ups; a turn takes
  the lane with the least work waiting;
- "records": one lane for the recorder (its batches are written one at a time anyway), so a
  burst of orders never holds up the call records and a slow batch never holds up an answer.

While a call server runs (`keep_connections`), a lane keeps its connection between units: the
connections are bounded by the lanes, and one that broke is dropped and opened again, as Django
does between requests. On SQLite (one writer at a time) everything stays in channels' one
thread, as before.
"""

import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

_lanes: dict[str, list[ThreadPoolExecutor]] = {}
_waiting: dict[ThreadPoolExecutor, int] = {}
_lock = threading.Lock()
_keep = False
_counter = itertools.count()


def _lane_count(kind: str) -> int:
    return settings.CALL_DB_THREADS if kind == "agent" else 1


def _pick(kind: str) -> ThreadPoolExecutor:
    with _lock:
        lanes = _lanes.get(kind)
        if lanes is None:
            lanes = _lanes[kind] = [
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-{kind}")
                for _ in range(max(1, _lane_count(kind)))
            ]
            _waiting.update(dict.fromkeys(lanes, 0))
        start = next(_counter) % len(lanes)  # ties go round the lanes
        lane = min(lanes[start:] + lanes[:start], key=_waiting.__getitem__)
        _waiting[lane] += 1
        return lane


def _tidy() -> None:
    """Between units: drop a broken connection; keep a good one while a server runs."""
    if not _keep:
        close_old_connections()
        return
    for connection in connections.all(initialized_only=True):
        connection.close_at = None  # the lane's own connection: no age limit
        connection.close_if_unusable_or_obsolete()


class _LaneSyncToAsync(SyncToAsync):
    def __init__(self, func, lane: ThreadPoolExecutor) -> None:
        super().__init__(func, thread_sensitive=False, executor=lane)
        self.lane = lane

    def thread_handler(self, loop, *args, **kwargs):
        _tidy()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _tidy()
            with _lock:
                _waiting[self.lane] -= 1


def _one_thread() -> bool:
    """SQLite (one writer at a time), or CALL_DB_THREADS=0: all in channels' one thread."""
    sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    return sqlite or settings.CALL_DB_THREADS <= 0


async def run(kind: str, func, *args, **kwargs):
    """Await func(*args, **kwargs) in a lane of `kind` ("agent" or "records")."""
    if _one_thread():
        return await database_sync_to_async(func)(*args, **kwargs)
    return await _LaneSyncToAsync(func, _pick(kind))(*args, **kwargs)


def keep_connections(keep: bool) -> None:
    """A call server keeps its lanes' connections while it runs; at its end they are closed."""
    global _keep
    _keep = keep
    if not keep:
        close_connections()


def close_connections(timeout: float = 5.0) -> None:
    """Close every lane's connection (each lane closes its own, in its thread)."""
    with _lock:
        lanes = [lane for group in _lanes.values() for lane in group]
    futures = [lane.submit(connections.close_all) for lane in lanes]
    for future in futures:
        try:
            future.result(timeout=timeout)
        except Exception as error:  # a lane busy past the time-out keeps it until exit
            logger.warning("a database lane did not close its connection: %r", error)
