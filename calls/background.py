"""Stopping a background task at shutdown within a bound, whatever the code it runs does; waiting
for work only while a call lasts."""

import asyncio
import logging

logger = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task, timeout: float) -> bool:
    """Cancel `task` and wait up to `timeout` s for it to end; False if it would not.

    A library under the task may swallow the cancellation (the task then waits on, forever,
    for something that never comes), so waiting for it is bounded: shutdown goes on without
    it. asyncio.wait, not a bare await: it neither re-raises the task's own CancelledError
    (which would look like ours) nor swallows a cancellation of the caller.
    """
    if task.done():
        return True
    task.cancel()
    _, pending = await asyncio.wait({task}, timeout=timeout)
    if pending:
        logger.warning(
            "%s did not stop within %g s: shutdown goes on without it", task.get_name(), timeout
        )
        return False
    if not task.cancelled() and task.exception() is not None:
        logger.warning("%s ended with %r", task.get_name(), task.exception())
    return True


async def unless_set(pending: asyncio.Future, event: asyncio.Event) -> bool:
    """Wait for `pending` until `event` is set; True if `pending` is done (its result or error
    is then the caller's to take), False if the event came first (`pending` is left running)."""
    if not pending.done():
        waiting = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({pending, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
    return pending.done()
