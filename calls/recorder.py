"""Persists Call and Turn rows off the hot path: batched, idempotent, and never lost.

Sessions tell the recorder what happened (plain method calls that only touch memory); one
background task writes the changes in batches, in a database thread of its own
(calls/db_threads.py). When the database is away the changes stay in memory and are written
when it is back. Writes are upserts keyed by the call's UUID and the turn's position, so a
retried batch never makes a duplicate row.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from django.utils import timezone

from . import db_threads, metrics
from .background import stop_task
from .live import LivePublisher
from .models import CallOutcome, CallStatus
from .reconcile import SERVER_STOPPED
from .record_spool import RecordSpool, call_entry, decode, turn_entry
from .record_store import BatchResult, call_has_ended, write_batch

logger = logging.getLogger(__name__)

# Seconds a new call waits to learn from the database that its UUID is not a finished call's.
FINAL_CHECK_TIMEOUT = 2.0
# Seconds close() waits for each background task to end once cancelled.
STOP_TASK_SECONDS = 5.0


class CallWatcher(Protocol):
    """Told of one call's changes as the recorder takes them (on the loop; must not block)."""

    def call_changed(self, fields: Mapping) -> None: ...

    def turn_spoken(self, call_uuid: uuid.UUID, fields: Mapping) -> None: ...


@dataclass
class _CallState:
    fields: dict
    dirty: bool = True
    turns: list[dict] = field(default_factory=list)
    ended: bool = False


class Recorder:
    def __init__(
        self,
        batch_window: float = 0.2,
        max_backoff: float = 10.0,
        *,
        live: LivePublisher | None = None,
        instance: str = "",
        heartbeat_interval: float = 30.0,
        spool: RecordSpool | None = None,
    ) -> None:
        self.batch_window = batch_window
        self.max_backoff = max_backoff
        # Each call row names its process and carries its heartbeat, so that calls.reconcile
        # can end the calls of a process that died.
        self.instance = instance
        self.heartbeat_interval = heartbeat_interval
        self._heartbeat_task: asyncio.Task | None = None
        # What the database could not take is also on disk (calls.record_spool), once each.
        self.spool = spool
        self._spooled_calls: dict[uuid.UUID, dict] = {}
        self._spooled_turns: set[tuple[uuid.UUID, int]] = set()
        # One batch at a time: a batch written must never clear the spool of one that failed.
        self._flush_lock = asyncio.Lock()
        self._refused: set[uuid.UUID] = set()
        self._calls: dict[uuid.UUID, _CallState] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._outage_since: float | None = None
        self.batches_written = 0
        self.quarantined = 0  # records the database refused, kept in QuarantinedRecord
        # Every change also goes to the staff's live monitor (memory only here, too).
        self.live = live if live is not None else LivePublisher()
        # One call's changes, handed to whoever watches it (the test-call page's socket).
        self._watchers: dict[uuid.UUID, CallWatcher] = {}

    # --- What sessions call: memory only, never blocks -------------------------------------

    def watch(self, call_uuid: uuid.UUID, watcher: "CallWatcher | None") -> None:
        """Hand this call's changes to `watcher` as they are recorded (None: stop)."""
        if watcher is None:
            self._watchers.pop(call_uuid, None)
        else:
            self._watchers[call_uuid] = watcher

    def _changed(self, call_uuid: uuid.UUID, fields: dict) -> None:
        self.live.call_changed(fields)
        if (watcher := self._watchers.get(call_uuid)) is not None:
            watcher.call_changed(fields)

    def call_started(self, call_uuid: uuid.UUID, **fields) -> None:
        fields = {
            "uuid": call_uuid,
            "instance": self.instance,
            "heartbeat_at": timezone.now(),
            **fields,
        }
        state = self._calls[call_uuid] = _CallState(fields=fields)
        self._wake.set()
        self._changed(call_uuid, state.fields)

    def call_updated(self, call_uuid: uuid.UUID, **fields) -> None:
        if call_uuid in self._refused:
            return
        state = self._calls[call_uuid]
        state.fields.update(fields)
        state.dirty = True
        self._wake.set()
        self._changed(call_uuid, state.fields)

    def call_ended(self, call_uuid: uuid.UUID, **fields) -> None:
        if call_uuid in self._refused:
            self._refused.discard(call_uuid)  # the refused session's last word
            return
        state = self._calls[call_uuid]
        state.fields.update(fields)
        state.dirty = True
        state.ended = True
        self._wake.set()
        self._changed(call_uuid, state.fields)

    def turn(self, call_uuid: uuid.UUID, **fields) -> None:
        if call_uuid in self._refused:
            return
        self._calls[call_uuid].turns.append(fields)
        self._wake.set()
        self.live.turn_spoken(call_uuid, fields)
        if (watcher := self._watchers.get(call_uuid)) is not None:
            watcher.turn_spoken(call_uuid, fields)

    def refuse(self, call_uuid: uuid.UUID) -> None:
        """The session under this UUID reused a finished call's: nothing it says is recorded
        (the row in the database stays as it was), up to its call_ended."""
        self._refused.add(call_uuid)
        self._calls.pop(call_uuid, None)

    def has_ended(self, call_uuid: uuid.UUID) -> bool:
        """This process ended the call (its record may still be on its way to the database)."""
        state = self._calls.get(call_uuid)
        return state is not None and state.ended

    async def stored_as_ended(self, call_uuid: uuid.UUID) -> bool:
        """The database has the call as ended: a connection reusing its UUID is refused. When
        the database cannot say within FINAL_CHECK_TIMEOUT, no; the batch writer still never
        changes an ended call's row."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation.
            async with asyncio.timeout(FINAL_CHECK_TIMEOUT):
                return await db_threads.run("records", call_has_ended, call_uuid)
        except Exception as error:
            logger.warning("call %s: could not check that it is new (%r)", call_uuid, error)
            return False

    @property
    def outage(self) -> bool:
        """The last write failed: the database is away and records wait in memory."""
        return self._outage_since is not None

    @property
    def stuck_seconds(self) -> float | None:
        """How long records have been waiting on a failing database, or None when writes work."""
        if self._outage_since is None:
            return None
        # Read from the status endpoint's thread too: a plain clock, not the loop's.
        return max(0.0, time.monotonic() - self._outage_since)

    @property
    def pending(self) -> int:
        """Calls with changes not yet in the database."""
        return sum(1 for s in self._calls.values() if s.dirty or s.turns)

    # --- The writer task --------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._run(), name="recorder")
        if self._heartbeat_task is None and self.heartbeat_interval > 0:
            self._heartbeat_task = loop.create_task(self._heartbeat(), name="recorder-heartbeat")
        self.live.start()

    async def close(self, timeout: float = 30.0) -> bool:
        """Stop the writer and write everything left; False if the database stayed away."""
        await self.live.close()
        # Bounded: a task whose cancellation a library swallowed must not hold the process.
        if self._heartbeat_task is not None:
            await stop_task(self._heartbeat_task, STOP_TASK_SECONDS)
            self._heartbeat_task = None
        if self._task is not None:
            await stop_task(self._task, STOP_TASK_SECONDS)
            self._task = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending:
            if await self.flush():
                continue
            if loop.time() >= deadline:
                where = f"; they are in {self.spool.path} for the next start" if self.spool else ""
                logger.error(
                    "database unavailable: %d calls' records could not be written%s",
                    self.pending,
                    where,
                )
                self._close_spool()
                return False
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
        self._close_spool()
        return True

    def _close_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()

    async def flush(self) -> bool:
        """Write what is pending now; True on success (or nothing to do)."""
        async with self._flush_lock:
            return await self._flush()

    async def _flush(self) -> bool:
        calls, turns, ended = [], [], []
        for call_uuid, state in self._calls.items():
            if state.dirty:
                calls.append(dict(state.fields))
            turns.extend((call_uuid, turn) for turn in state.turns)
            if state.ended:
                ended.append(call_uuid)
        if not calls and not turns:
            return True
        # Take the batch out before awaiting, so changes made meanwhile are kept for the next.
        taken = {u: (self._calls[u].dirty, len(self._calls[u].turns)) for u in self._calls}
        for state in self._calls.values():
            state.dirty = False
            state.turns = []
        try:
            result: BatchResult = await db_threads.run("records", write_batch, calls, turns)
        except asyncio.CancelledError:
            # Stopped mid-write: keep the batch (writing it twice changes nothing).
            self._restore(taken, turns)
            raise
        except Exception as error:
            # write_batch raises only when the database is away: keep everything for a retry.
            self._restore(taken, turns)
            await self._spool_pending()
            if self._outage_since is None:
                self._outage_since = time.monotonic()
                metrics.RECORDS_STUCK.set(1)
                logger.warning(
                    "cannot write call records (%s); keeping %d calls in memory",
                    error,
                    self.pending,
                )
            return False
        if self.spool is not None and self.spool.size:
            # This batch held everything spooled (a failed batch is restored whole).
            await asyncio.to_thread(self.spool.clear)
            self._spooled_calls.clear()
            self._spooled_turns.clear()
        if self._outage_since is not None:
            logger.warning("database is back: call records written")
            self._outage_since = None
            metrics.RECORDS_STUCK.set(0)
        for item in result.quarantined:
            self.quarantined += 1
            metrics.RECORDS_QUARANTINED.labels(item.kind).inc()
            logger.error(
                "call %s: the database refused a %s record (%s); it is quarantined "
                "(admin: Quarantined records), every other record was written",
                item.call_uuid,
                item.kind,
                item.error,
            )
        for call_uuid in ended:
            state = self._calls.get(call_uuid)
            if state is not None and not state.dirty and not state.turns:
                del self._calls[call_uuid]
        self.batches_written += 1
        return True

    async def _spool_pending(self) -> None:
        """Put on disk what is pending and not there yet: each call's fields whole (so that
        the next process can end it), each turn once."""
        if self.spool is None:
            return
        entries, calls, turns = [], {}, set()
        for call_uuid, state in self._calls.items():
            if not (state.dirty or state.turns) or "uuid" not in state.fields:
                continue
            if self._spooled_calls.get(call_uuid) != state.fields:
                calls[call_uuid] = dict(state.fields)
                entries.append(call_entry(calls[call_uuid]))
            for turn in state.turns:
                if (call_uuid, turn["sequence"]) not in self._spooled_turns:
                    turns.add((call_uuid, turn["sequence"]))
                    entries.append(turn_entry(call_uuid, turn))
        if not entries:
            return
        try:
            await asyncio.to_thread(self.spool.append, entries)
        except OSError as error:
            logger.error("cannot spool call records to %s (%s)", self.spool.path, error)
            return
        self._spooled_calls.update(calls)
        self._spooled_turns |= turns

    async def recover(self) -> int:
        """Open the spool and take over the records stopped processes left in it (written with
        the next batch); returns how many calls they were about."""
        if self.spool is None:
            return 0
        try:
            entries = await asyncio.to_thread(self.spool.open)
        except OSError as error:
            logger.error(
                "cannot open the record spool in %s (%s): records wait in memory only",
                self.spool.directory,
                error,
            )
            self.spool = None
            return 0
        recovered = adopt_spooled(self._calls, entries)
        if recovered:
            self._wake.set()
            logger.warning(
                "recovered the records of %d calls of a stopped process from the spool", recovered
            )
        return recovered

    def _restore(self, taken: dict, turns: list[tuple[uuid.UUID, dict]]) -> None:
        by_call: dict[uuid.UUID, list[dict]] = {}
        for call_uuid, turn in turns:
            by_call.setdefault(call_uuid, []).append(turn)
        for call_uuid, (was_dirty, _) in taken.items():
            state = self._calls[call_uuid]
            state.dirty = state.dirty or was_dirty
            state.turns = by_call.get(call_uuid, []) + state.turns

    async def _heartbeat(self) -> None:
        """Every call in progress says, through its row, that its process is alive."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            now = timezone.now()
            for state in self._calls.values():
                if not state.ended:
                    state.fields["heartbeat_at"] = now
                    state.dirty = True
            if self._calls:
                self._wake.set()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.batch_window)  # gather a batch
            self._wake.clear()
            if await self.flush():
                backoff = 0.5
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                self._wake.set()


def adopt_spooled(calls: dict[uuid.UUID, _CallState], entries: list[dict]) -> int:
    """Merge a stopped process's spooled records into `calls`; its calls that had not ended
    are ended as failed, "server stopped", at their last sign of life."""
    adopted: set[uuid.UUID] = set()
    for entry in entries:
        kind, call_uuid, fields = decode(entry)
        state = calls.setdefault(call_uuid, _CallState(fields={}, dirty=False))
        adopted.add(call_uuid)
        if kind == "call":
            state.fields.update(fields)
            state.dirty = True
        elif all(turn["sequence"] != fields["sequence"] for turn in state.turns):
            state.turns.append(fields)
    for call_uuid in adopted:
        state = calls[call_uuid]
        fields = state.fields
        state.ended = True
        if "uuid" not in fields or fields.get("status") == CallStatus.ENDED:
            continue
        signs = [fields[k] for k in ("started_at", "heartbeat_at") if fields.get(k)]
        fields.update(
            status=CallStatus.ENDED,
            outcome=fields.get("outcome") or CallOutcome.FAILED,
            end_reason=SERVER_STOPPED,
            ended_at=max(signs) if signs else timezone.now(),
        )
    return len(adopted)
