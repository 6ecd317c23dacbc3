"""What the server stored about a call, read by tests once the call has ended."""

import asyncio
import time

from calls.models import Call, CallStatus, Turn


async def wait_for(predicate, timeout: float = 30.0):
    """The first truthy result of the async `predicate`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("the condition did not come true in time")


async def ended_call(call_uuid, timeout: float = 30.0) -> Call:
    """The call's row once the server has recorded it as ended."""

    async def ended():
        return await Call.objects.filter(uuid=call_uuid, status=CallStatus.ENDED).afirst()

    return await wait_for(ended, timeout)


async def ended_call_turns(call_uuid, count: int, timeout: float = 30.0) -> list[Turn]:
    """The call's turns in order, once it has ended with at least `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        call = await Call.objects.filter(uuid=call_uuid, status=CallStatus.ENDED).afirst()
        if call is not None:
            turns = [t async for t in Turn.objects.filter(call=call).order_by("sequence")]
            if len(turns) >= count:
                return turns
        await asyncio.sleep(0.2)
    raise AssertionError(f"the call did not end with {count} turns in time")


def transcript(turns: list[Turn]) -> str:
    """The call as a reader would follow it, one turn a line (for assertion messages)."""
    return "\n".join(f"{t.role}: {t.text}" for t in turns)
