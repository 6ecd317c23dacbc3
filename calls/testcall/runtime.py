"""The Daphne process's shared parts for test calls: one set of CallServices (engines, executors,
recorder, TTS cache; calls/call_services.py), built on the first test call, off the event loop
(a local Whisper takes seconds to load), and at most TEST_CALLS_MAX test calls at once.

Keyed by the event loop: Daphne runs one, so it is process-wide; the recorder and the frame
clock are tasks of their loop, and a test suite runs each test on a loop of its own.
"""

import asyncio
import logging
import weakref

from django.conf import settings

from ..call_services import BuiltServices, build_call_services
from ..session import CallServices

logger = logging.getLogger(__name__)


class TestCallRuntime:
    __test__ = False  # a test call, not a test: pytest must not collect it

    def __init__(self) -> None:
        self._built: BuiltServices | None = None
        self._building = asyncio.Lock()
        self.active = 0

    def admit(self) -> bool:
        """Take a place for a new test call; False when TEST_CALLS_MAX are under way."""
        if self.active >= settings.TEST_CALLS_MAX:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active = max(0, self.active - 1)

    async def services(self) -> CallServices:
        async with self._building:
            if self._built is None:
                # Engines load here (seconds for a local Whisper): in a thread, so the admin
                # and every live socket of this process go on meanwhile.
                built = await asyncio.to_thread(
                    build_call_services,
                    settings.TEST_CALLS_MAX,
                    watch_admission=False,
                    spool=False,
                )
                built.services.clock.start()
                built.services.recorder.start()
                self._built = built
                logger.info("test calls: speech engines and agent ready in this process")
        return self._built.services


_runtimes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TestCallRuntime]" = (
    weakref.WeakKeyDictionary()
)


def runtime() -> TestCallRuntime:
    """This event loop's (this Daphne process's) test-call runtime."""
    loop = asyncio.get_running_loop()
    found = _runtimes.get(loop)
    if found is None:
        found = _runtimes[loop] = TestCallRuntime()
    return found
