"""The recorder's spool file: fsync'd JSON lines one process holds while it lives; the next
process takes over the file of one that stopped, and writes its records."""

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from calls.record_spool import RecordSpool, call_entry, turn_entry
from calls.recorder import Recorder


def _died(spool: RecordSpool) -> None:
    """What a SIGKILL does to the spool: the file stays, the lock goes."""
    os.close(spool._fd)
    spool._fd = None


def _records(call_uuid: uuid.UUID, started_at, status=CallStatus.IN_PROGRESS) -> list[dict]:
    fields = {
        "uuid": call_uuid,
        "instance": "gone:1:abcd",
        "started_at": started_at,
        "heartbeat_at": started_at + timedelta(seconds=30),
        "language": "en",
        "status": status,
    }
    turn = {"sequence": 0, "role": TurnRole.BOT, "text": "Hello!", "start_ms": 0, "end_ms": 900}
    return [call_entry(fields), turn_entry(call_uuid, turn)]


def test_a_live_processs_spool_is_left_alone_and_a_stopped_ones_is_taken_over(tmp_path):
    call_uuid, started_at = uuid.uuid4(), timezone.now()
    first = RecordSpool(tmp_path, "host:1:aaaa")
    assert first.open() == []
    first.append(_records(call_uuid, started_at))
    assert RecordSpool(tmp_path, "host:2:bbbb").open() == []  # the first is alive

    _died(first)
    with open(first.path, "a") as file:
        file.write('{"turn": {"sequ')  # a line cut short by the kill
    third = RecordSpool(tmp_path, "host:3:cccc")
    adopted = third.open()

    assert [next(iter(e)) for e in adopted] == ["call", "turn"]
    assert not first.path.exists()  # copied, fsync'd, into the new process's file
    assert third.path.stat().st_size == third.size > 0
    third.clear()
    assert third.path.stat().st_size == 0
    third.close()
    assert not third.path.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_next_process_writes_a_stopped_ones_records_and_ends_its_live_call(tmp_path):
    live, done = uuid.uuid4(), uuid.uuid4()
    started_at = timezone.now() - timedelta(minutes=5)
    stopped = RecordSpool(tmp_path, "gone:1:abcd")
    stopped.open()
    stopped.append(_records(live, started_at))
    stopped.append(_records(done, started_at, status=CallStatus.ENDED))
    _died(stopped)

    recorder = Recorder(spool=RecordSpool(tmp_path, "here:2:efgh"))
    assert await recorder.recover() == 2
    assert await recorder.flush()

    call = await Call.objects.aget(uuid=live)
    assert (call.status, call.outcome, call.end_reason) == (
        CallStatus.ENDED,
        CallOutcome.FAILED,
        "server stopped",
    )
    assert call.ended_at == started_at + timedelta(seconds=30)  # its last heartbeat
    assert (await Call.objects.aget(uuid=done)).status == CallStatus.ENDED
    assert await Turn.objects.filter(call__uuid__in=[live, done]).acount() == 2
    assert recorder.spool.size == 0 and recorder.pending == 0
    assert await recorder.close()
    assert list(tmp_path.iterdir()) == []
