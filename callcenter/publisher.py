"""The one way calls and orders queue Celery tasks: handed to a background thread, so a broker
that is away or hung never stalls the caller or the database thread that serves every call.

`publish(task, *args, what=...)` only appends to a bounded in-memory queue and returns. One
daemon thread per process takes the jobs and talks to the broker (with the bounded socket
time-outs and retry policy in settings). What it cannot queue (the broker fails, the queue
overflows, the process exits first) is left to the periodic sweeps, which queue again every
order notification still pending (orders.tasks.send_pending_notifications) and every ended
call not wrapped up (calls.tasks.wrap_up_pending_calls): a lost publish delays, never loses.

With no broker (Celery eager, the embedded default) the task runs right where it is queued, as
before: there is no broker to hang on.
"""

import atexit
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Jobs waiting for the broker at most; past this the oldest go first (the sweeps have them).
MAX_WAITING = 1000
# At exit, how long the process waits for jobs still queued (a hung broker must not hold it).
EXIT_DRAIN_SECONDS = 3.0


@dataclass(frozen=True)
class _Job:
    task: Any  # a Celery task
    args: tuple
    what: str  # for the log: "notification 12", "the wrap-up of call <uuid>"


class Publisher:
    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self.max_waiting = max_waiting
        self._reset()

    def _reset(self) -> None:
        self._jobs: deque[_Job] = deque()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._busy = False
        self._failing = False
        self.published = 0
        self.failed = 0  # publishes the broker refused or timed out
        self.dropped = 0  # jobs given up unsent to the sweeps (after a failure, or overflow)

    def publish(self, task: Any, *args: Any, what: str) -> None:
        """Queue `task(*args)` on the broker soon; returns at once, whatever the broker does."""
        if task.app.conf.task_always_eager:
            _run_inline(task, args, what)
            return
        if self._pid != os.getpid():
            self._reset()  # a forked child has the parent's queue but not its thread
        with self._changed:
            if len(self._jobs) >= self.max_waiting:
                self._jobs.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 100 == 0:
                    logger.warning(
                        "%d tasks waiting for the broker: the oldest are left to the sweeps",
                        self.max_waiting,
                    )
            self._jobs.append(_Job(task, args, what))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="celery-publisher", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued job has been tried; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def close(self, timeout: float) -> None:
        """At exit: wait a little for the jobs still queued, and say how many were left."""
        if self._thread is None or self._pid != os.getpid():
            return
        if not self.drain(timeout):
            logger.warning(
                "exiting with %d tasks not yet queued: the sweeps will send them",
                len(self._jobs) + self._busy,
            )

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._jobs)
                job = self._jobs.popleft()
                self._busy = True
            try:
                self._send(job)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _send(self, job: _Job) -> None:
        try:
            job.task.apply_async(job.args)
        except Exception as error:
            self.failed += 1
            # The broker is away or hung: the jobs behind this one would wait out the same
            # time-out each, so they go to the sweeps now and the queue stays short.
            with self._changed:
                left = len(self._jobs)
                self._jobs.clear()
                self.dropped += left
            more = f"; {left} more tasks left to the sweeps" if left else ""
            logger.warning(
                "could not queue %s (%s): the sweep will send it%s", job.what, error, more
            )
            self._failing = True
            return
        self.published += 1
        if self._failing:
            self._failing = False
            logger.warning("the broker takes tasks again")


def _run_inline(task: Any, args: tuple, what: str) -> None:
    try:
        task.apply_async(args)
    except Exception as error:
        # The row stays as it was (a pending notification, a call not wrapped up): a sweep, or
        # `manage.py send_pending_notifications`, takes it later.
        logger.warning("%s failed (%s): the sweep will try again", what, error)


publisher = Publisher()
publish = publisher.publish

# atexit runs before daemon threads are stopped: what was just queued (the wrap-ups of the last
# calls at shutdown) gets a short chance to reach the broker.
atexit.register(publisher.close, EXIT_DRAIN_SECONDS)
