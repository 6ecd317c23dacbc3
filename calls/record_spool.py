"""The recorder's spool: call and turn records the database could not take yet, appended to a
local file and fsync'd, so that a process stopped during a database outage (even by SIGKILL)
loses none. One file per process, locked while the process lives; a file nobody holds belongs
to a process that stopped, and the next one to start adopts it."""

import fcntl
import json
import logging
import os
import uuid
from datetime import datetime
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.dateparse import parse_datetime

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
DATETIME_FIELDS = ("started_at", "answered_at", "ended_at", "heartbeat_at")


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        # Whole microseconds (DjangoJSONEncoder keeps milliseconds): a record comes back as it was.
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


def call_entry(fields: dict) -> dict:
    return {"call": fields}


def turn_entry(call_uuid: uuid.UUID, fields: dict) -> dict:
    return {"turn": fields, "uuid": call_uuid}


def decode(entry: dict) -> tuple[str, uuid.UUID, dict]:
    """("call" or "turn", the call's UUID, the fields as the recorder keeps them)."""
    if "call" in entry:
        fields = dict(entry["call"])
        fields["uuid"] = uuid.UUID(fields["uuid"])
        for name in DATETIME_FIELDS:
            if isinstance(fields.get(name), str):
                fields[name] = parse_datetime(fields[name])
        return "call", fields["uuid"], fields
    return "turn", uuid.UUID(entry["uuid"]), dict(entry["turn"])


class RecordSpool:
    def __init__(self, directory: Path, instance: str) -> None:
        self.directory = Path(directory)
        name = "".join(c if c.isalnum() or c in "-." else "_" for c in instance or "records")
        self.path = self.directory / f"{name}{SUFFIX}"
        self._fd: int | None = None
        self.size = 0

    def open(self) -> list[dict]:
        """Create and lock this process's file; adopt the files of stopped processes. Returns
        the entries adopted (already copied, fsync'd, into this process's file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Locked before it has its name, so no other process takes it for an orphan.
        part = self.path.with_suffix(".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(part, self.path)
        self._fd = fd
        adopted: list[dict] = []
        orphans = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path != self.path and (entries := self._adopt(path)) is not None:
                adopted.extend(entries)
                orphans.append(path)
        if adopted:
            self.append(adopted)
        for path in orphans:
            path.unlink(missing_ok=True)
        _fsync_directory(self.directory)
        return adopted

    def _adopt(self, path: Path) -> list[dict] | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # another process adopted it first
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # its process is alive
            if not path.exists() or os.fstat(fd).st_ino != path.stat().st_ino:
                return None
            with os.fdopen(os.dup(fd), encoding="utf-8") as file:
                return _read(file, path)
        finally:
            os.close(fd)

    def append(self, entries: list[dict]) -> None:
        """Append the entries, one JSON line each, and fsync: on disk when this returns."""
        if self._fd is None or not entries:
            return
        data = "".join(json.dumps(e, cls=_Encoder) + "\n" for e in entries).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        self.size += len(data)

    def clear(self) -> None:
        """Everything spooled is in the database now."""
        if self._fd is not None and self.size:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self.size = 0

    def close(self) -> None:
        """Release the file; an empty one is removed, a full one waits for the next process."""
        if self._fd is None:
            return
        if not self.size:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def _read(file, path: Path) -> list[dict]:
    entries = []
    for number, line in enumerate(file, 1):
        try:
            entry = json.loads(line)
            decode(entry)
        except (ValueError, KeyError, TypeError, AttributeError):
            # A line cut short by a kill mid-write: everything before it is whole.
            logger.warning("spool %s: line %d is not a whole record; skipped", path.name, number)
            continue
        entries.append(entry)
    return entries


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
