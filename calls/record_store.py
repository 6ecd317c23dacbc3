"""The recorder's database side: one batch of call and turn records written in one transaction,
or, when the database refuses the batch, row by row so that a bad row is quarantined, not the
batch. Sync code: it runs in the database thread, never on the event loop."""

import json
import logging
import uuid
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, connection, transaction

from .models import Call, CallStatus, QuarantinedRecord, Turn

logger = logging.getLogger(__name__)

# The database is away (or the connection broke): the batch is kept and retried. Any other
# error is about a row, and retrying the same row will never help.
OUTAGE_ERRORS = (OperationalError, InterfaceError)

# Columns a session may change after the call's row exists (never started_at, never uuid).
CALL_UPDATE_FIELDS = [
    "language",
    "sample_rate",
    "status",
    "outcome",
    "end_reason",
    "answered_at",
    "ended_at",
    "instance",
    "heartbeat_at",
]

TurnRecord = tuple[uuid.UUID, dict]


@dataclass
class Quarantined:
    kind: str  # "call" or "turn"
    call_uuid: uuid.UUID
    payload: dict
    error: str


@dataclass
class BatchResult:
    quarantined: list[Quarantined] = field(default_factory=list)


def write_batch(calls: list[dict], turns: list[TurnRecord]) -> BatchResult:
    """Write the batch; a row the database refuses is quarantined and the rest written.
    Raises only for an outage (OUTAGE_ERRORS), after which the whole batch may be retried:
    every write is an upsert, so a retry duplicates nothing."""
    result = BatchResult()
    try:
        try:
            with transaction.atomic():
                calls = _without_final_calls(calls)
                _upsert_calls(calls)
                _insert_turns(turns)
        except OUTAGE_ERRORS:
            raise
        except Exception as error:
            logger.warning("the database refused a batch of call records (%s): row by row", error)
            result.quarantined = _write_row_by_row(calls, turns)
    except OUTAGE_ERRORS:
        # A connection broken by an outage must not be reused for the retry.
        connection.close()
        raise
    ended = [fields["uuid"] for fields in calls if fields.get("status") == CallStatus.ENDED]
    if ended:
        # Handed to the publisher's thread: a hung broker never holds this database thread.
        from .tasks import queue_wrap_ups

        queue_wrap_ups(ended)
    return result


def call_has_ended(call_uuid: uuid.UUID) -> bool:
    """Whether the database has this call as ended (and so final)."""
    return Call.objects.filter(uuid=call_uuid, status=CallStatus.ENDED).exists()


def _without_final_calls(calls: list[dict]) -> list[dict]:
    """The calls of the batch minus those the database already has as ended: a finished call
    is final, whatever a later connection reusing its UUID says (the server refuses those; this
    holds when it could not ask). Their rows are locked until the batch commits."""
    if not calls:
        return calls
    final = set(
        Call.objects.select_for_update()
        .filter(uuid__in=[fields["uuid"] for fields in calls], status=CallStatus.ENDED)
        .values_list("uuid", flat=True)
    )
    for call_uuid in final:
        logger.warning("call %s has already ended: its record is final, not changed", call_uuid)
    return [fields for fields in calls if fields["uuid"] not in final]


def _upsert_calls(calls: list[dict]) -> None:
    if calls:
        Call.objects.bulk_create(
            [Call(**fields) for fields in calls],
            update_conflicts=True,
            unique_fields=["uuid"],
            update_fields=CALL_UPDATE_FIELDS,
        )


def _insert_turns(turns: list[TurnRecord]) -> None:
    if not turns:
        return
    ids = dict(Call.objects.filter(uuid__in={u for u, _ in turns}).values_list("uuid", "id"))
    missing = {u for u, _ in turns} - ids.keys()
    if missing:
        raise LookupError(f"no call row for turns of {len(missing)} calls")
    # A turn already stored (a retried batch) is kept as it is. Not ignore_conflicts: SQLite's
    # INSERT OR IGNORE would also drop a row that breaks a CHECK, silently; this conflict
    # clause covers only the turn's own key, so a bad row raises on every database.
    Turn.objects.bulk_create(
        [Turn(call_id=ids[u], **fields) for u, fields in turns],
        update_conflicts=True,
        unique_fields=["call", "sequence"],
        update_fields=["sequence"],
    )


def _write_row_by_row(calls: list[dict], turns: list[TurnRecord]) -> list[Quarantined]:
    """Each row in its own transaction; the refused ones are stored in QuarantinedRecord."""
    bad: list[Quarantined] = []
    refused_calls: set[uuid.UUID] = set()
    for fields in calls:
        try:
            with transaction.atomic():
                _upsert_calls(_without_final_calls([fields]))
        except OUTAGE_ERRORS:
            raise
        except Exception as error:
            refused_calls.add(fields["uuid"])
            bad.append(Quarantined("call", fields["uuid"], fields, _describe(error)))
    for call_uuid, fields in turns:
        if call_uuid in refused_calls:
            bad.append(Quarantined("turn", call_uuid, fields, "its call's record was refused"))
            continue
        try:
            with transaction.atomic():
                _insert_turns([(call_uuid, fields)])
        except OUTAGE_ERRORS:
            raise
        except Exception as error:
            bad.append(Quarantined("turn", call_uuid, fields, _describe(error)))
    if bad:
        with transaction.atomic():
            QuarantinedRecord.objects.bulk_create(
                [
                    QuarantinedRecord(
                        call_uuid=item.call_uuid,
                        kind=item.kind,
                        payload=_jsonable(item.payload),
                        error=item.error,
                    )
                    for item in bad
                ]
            )
    return bad


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class _LenientEncoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return repr(o)


def _jsonable(payload: dict) -> dict:
    """The record as JSON (UUIDs and datetimes as strings; anything odd as its repr)."""
    return json.loads(json.dumps(payload, cls=_LenientEncoder))
