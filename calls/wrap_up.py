"""After a call: one summary line, the checks that flag a call for staff, and its statistics.

`wrap_up(call_uuid)` is what the Celery task runs. It recomputes everything from the stored
rows each time, so running it twice (a retried task, the sweep) gives the same result.
"""

from django.db.models import Avg
from django.utils import timezone

from .models import Call, CallOutcome, CallStatus, TurnRole

# A reply slower than this is worth a look: the shop's minimum is p95 under 2 s.
SLOW_REPLY_MS = 3000
SNIPPET_CHARS = 80


def wrap_up(call_uuid: str) -> Call | None:
    """Summarise and check one ended call; None if it is unknown or still in progress."""
    call = Call.objects.filter(uuid=call_uuid, status=CallStatus.ENDED).first()
    if call is None:
        return None
    turns = list(call.turns.order_by("sequence").values("role", "text", "total_ms"))
    orders = list(call.orders.order_by("created_at").values_list("number", "total"))
    caller_said = [t["text"] for t in turns if t["role"] == TurnRole.CALLER and t["text"]]
    replies = [t["total_ms"] for t in turns if t["role"] == TurnRole.BOT and t["total_ms"]]

    call.summary = summary_line(call, orders, caller_said, len(turns))[:300]
    reasons = review_reasons(call, orders, caller_said, replies)
    call.needs_review = bool(reasons)
    call.review_reason = "; ".join(reasons)[:200]
    average = call.turns.filter(role=TurnRole.BOT, total_ms__isnull=False).aggregate(
        ms=Avg("total_ms")
    )["ms"]
    call.avg_reply_ms = round(average) if average is not None else None
    call.wrapped_up_at = timezone.now()
    call.save(
        update_fields=["summary", "needs_review", "review_reason", "avg_reply_ms", "wrapped_up_at"]
    )
    return call


def summary_line(call: Call, orders: list, caller_said: list[str], turn_count: int) -> str:
    outcome = call.get_outcome_display() if call.outcome else "No outcome"
    if orders:
        placed = ", ".join(f"{number} ({total})" for number, total in orders)
        detail = f"order {placed}"
    elif caller_said:
        first = caller_said[0]
        snippet = first if len(first) <= SNIPPET_CHARS else first[: SNIPPET_CHARS - 1] + "…"
        detail = f'caller: "{snippet}"'
    else:
        detail = "the caller said nothing"
    duration = call.duration
    seconds = int(duration.total_seconds()) if duration else 0
    return f"{outcome}: {detail}; {turn_count} turns, {seconds // 60}:{seconds % 60:02d}"


def review_reasons(
    call: Call, orders: list, caller_said: list[str], replies: list[int]
) -> list[str]:
    """What a manager should look at; empty when the call went as it should."""
    reasons = []
    if call.outcome == CallOutcome.ORDER_PLACED and not orders:
        reasons.append("the outcome is 'order placed' but no order is linked")
    if orders and call.outcome != CallOutcome.ORDER_PLACED:
        reasons.append(f"an order was placed but the outcome is '{call.outcome or 'none'}'")
    if call.outcome == CallOutcome.FAILED:
        reasons.append(f"the call failed: {call.end_reason or 'no reason recorded'}")
    if call.outcome == CallOutcome.ABANDONED and caller_said and not orders:
        reasons.append("the caller hung up after speaking: consider calling back")
    slow = [ms for ms in replies if ms > SLOW_REPLY_MS]
    if slow:
        reasons.append(f"{len(slow)} replies took over {SLOW_REPLY_MS / 1000:g} s")
    return reasons
