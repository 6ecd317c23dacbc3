"""Builds what every call of a process shares (CallServices): the engines, their executors, the
recorder and the TTS cache. The AudioSocket server builds one set per process; Daphne builds one
for the admin's test calls (calls/testcall/runtime.py)."""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from . import admission
from .agent.base import get_agent
from .http_api import speech_api_pool_size
from .reconcile import process_instance
from .record_spool import RecordSpool
from .recorder import Recorder
from .session import CallServices
from .voice.player import FrameClock
from .voice.stt import get_stt_engine
from .voice.stt_queue import STTQueue
from .voice.tts import get_tts_engine
from .voice.tts_cache import PromptStore, TTSCache
from .voice.vad import EndpointConfig

logger = logging.getLogger(__name__)


@dataclass
class BuiltServices:
    services: CallServices
    tts_executor: ThreadPoolExecutor
    stt_executor: STTQueue

    def shutdown(self) -> None:
        self.tts_executor.shutdown(wait=False, cancel_futures=True)
        self.stt_executor.shutdown(wait=False, cancel_futures=True)


def _warn_small_pool(tts_engine, stt_engine, max_calls: int) -> None:
    """A remote engine's pool smaller than the calls makes callers wait for each other."""
    remote = [
        f"{kind} ({engine.name})"
        for kind, engine in (("speech-to-text", stt_engine), ("text-to-speech", tts_engine))
        if not engine.local
    ]
    if remote and speech_api_pool_size() < max_calls:
        logger.warning(
            "SPEECH_API_POOL=%d connections for up to %d calls on %s: at busy moments callers "
            "wait for a connection (callcenter_http_pool_wait_seconds), and fail after "
            "SPEECH_API_POOL_TIMEOUT",
            speech_api_pool_size(),
            max_calls,
            " and ".join(remote),
        )


def build_call_services(
    max_calls: int, *, watch_admission: bool = True, spool: bool = True
) -> BuiltServices:
    """Engines are built once per process (a local Whisper takes seconds to load: call this off
    the event loop where that matters); speech work runs in these executors: a local engine's
    in a thread or two (CPU-bound), a remote one's in a thread per call (waiting on the
    network), so requests never queue unseen in front of the HTTP pool, whose waits are
    measured and bounded (calls/http_api.py). `spool`: the recorder keeps what the database
    cannot take on disk (the caller then opens it with `recorder.recover()`)."""
    tts_engine, stt_engine = get_tts_engine(), get_stt_engine()
    remote_threads = max(max_calls, speech_api_pool_size())
    tts_executor = ThreadPoolExecutor(
        max_workers=1 if tts_engine.local else remote_threads, thread_name_prefix="tts"
    )
    # The STT executor knows its backlog and job time: admission control (calls/admission.py).
    admission.overload_route()  # a misspelt STT_OVERLOAD_ROUTE stops start-up
    stt_executor = STTQueue(settings.STT_WORKERS if stt_engine.local else remote_threads)
    if watch_admission:
        admission.watch(stt_executor)
    _warn_small_pool(tts_engine, stt_engine, max_calls)
    services = CallServices(
        clock=FrameClock(),
        recorder=Recorder(
            instance=process_instance(),
            heartbeat_interval=settings.CALL_HEARTBEAT_INTERVAL,
            spool=RecordSpool(settings.RECORDER_SPOOL_DIR, process_instance()) if spool else None,
        ),
        tts=TTSCache(tts_engine, tts_executor, PromptStore(settings.TTS_CACHE_DIR)),
        stt=stt_engine,
        stt_executor=stt_executor,
        agent=get_agent(),
        endpoint=EndpointConfig(
            end_silence_ms=settings.VAD_END_SILENCE_MS,
            max_utterance_ms=settings.VAD_MAX_UTTERANCE_MS,
            early_silence_ms=settings.STT_EARLY_SILENCE_MS,
        ),
        barge_in=settings.BARGE_IN,
    )
    return BuiltServices(services, tts_executor, stt_executor)
