"""The process's speech-to-text queue: an executor that knows its backlog and how long a job takes.

Every transcription of the process runs here (STT_WORKERS threads). It counts the jobs waiting
or running and keeps a moving average of the seconds one takes (wall time in the worker, so a
machine whose cores are shared shows up as slower jobs), so the call pipeline can tell before
it queues one whether the caller would wait past the reply budget (calls/admission.py), and
whether a worker is idle for an early transcription (calls/hearing.py).
"""

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

# Seconds one transcription is taken to cost until one is measured (a short reply on the
# embedded engine in the 30 s window; docs/engines.md).
FIRST_GUESS_SECONDS = 0.5
SMOOTHING = 0.2  # weight of the newest job in the moving average
# Seconds over which the backlog is averaged for new calls: a new caller needs speech-to-text
# only after the greeting, so a moment when every caller stopped speaking at once is no reason
# to turn them away; a backlog that lasts is.
BACKLOG_SECONDS = 10.0


class STTQueue(ThreadPoolExecutor):
    def __init__(self, workers: int, *, first_guess: float = FIRST_GUESS_SECONDS) -> None:
        self.workers = max(1, workers)
        super().__init__(max_workers=self.workers, thread_name_prefix="stt")
        self._lock = threading.Lock()
        self._jobs = 0
        self._mean = first_guess
        self._measured = 0
        self._backlog = 0.0  # jobs, averaged over time (BACKLOG_SECONDS)
        self._backlog_at = time.monotonic()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            self._settle()
            self._jobs += 1
        try:
            future = super().submit(self._timed, fn, args, kwargs)
        except BaseException:
            self._left()
            raise
        # Runs when the job ends and when a waiting job is cancelled.
        future.add_done_callback(lambda _future: self._left())
        return future

    def _timed(self, fn, args, kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            with self._lock:
                self._measured += 1
                # The first measurement replaces the guess; then an exponential moving average.
                weight = 1.0 if self._measured == 1 else SMOOTHING
                self._mean += weight * (seconds - self._mean)

    def _left(self) -> None:
        with self._lock:
            self._settle()
            self._jobs -= 1

    def _settle(self) -> None:
        """Bring the time-averaged backlog up to now (the job count held since the last call)."""
        now = time.monotonic()
        weight = 1.0 - math.exp(-(now - self._backlog_at) / BACKLOG_SECONDS)
        self._backlog += weight * (self._jobs - self._backlog)
        self._backlog_at = now

    @property
    def jobs(self) -> int:
        """Transcriptions waiting or running."""
        return self._jobs

    @property
    def job_seconds(self) -> float:
        """Moving average of the seconds one transcription takes."""
        return self._mean

    @property
    def busy(self) -> bool:
        """No worker is idle: a job submitted now would wait."""
        return self._jobs >= self.workers

    def wait_estimate(self) -> float:
        """Seconds a job submitted now waits before a worker takes it: the jobs that must leave
        first (those beyond the idle workers, the new one's own turn included) times the
        average job, shared among the workers."""
        ahead = self._jobs - self.workers + 1
        return self._mean * ahead / self.workers if ahead > 0 else 0.0

    def lasting_wait_estimate(self) -> float:
        """The wait of `wait_estimate` for the backlog averaged over the last seconds."""
        with self._lock:
            self._settle()
            ahead = self._backlog - self.workers + 1
        return self._mean * ahead / self.workers if ahead > 0 else 0.0

    def done_estimate(self) -> float:
        """Seconds until a job submitted now is transcribed."""
        return self.wait_estimate() + self._mean
