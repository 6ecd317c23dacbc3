"""The engines' HTTP client pool (calls/http_api.py): sized to the calls, its waits measured, and
a request that finds no free connection failing in bounded time instead of queueing silently."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from calls.http_api import APIClient, APIError, speech_api_pool_size
from calls.voice.google_cloud import GoogleSTTEngine

SYNTHESIS = {
    "input": {"text": "Hello"},
    "voice": {"languageCode": "en-US"},
    "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": 8000},
}


def _sample(name: str, **labels) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def _client(api, name: str, connections: int) -> APIClient:
    return APIClient(
        name,
        api.google_url,
        {"X-Goog-Api-Key": "test-key"},
        timeout=10,
        max_connections=connections,
        pool_timeout=0.3,
    )


def test_a_request_finding_every_connection_busy_fails_after_the_pool_time_out(fake_speech_api):
    fake_speech_api.delay = 1.5
    client = _client(fake_speech_api, "pool test tiny", connections=1)
    exhausted = _sample("callcenter_http_pool_exhausted_total", api="pool test tiny")
    with ThreadPoolExecutor(2) as threads:
        futures = [threads.submit(client.post_json, "text:synthesize", SYNTHESIS) for _ in "ab"]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=30))
            except APIError as error:
                outcomes.append(error)
    failed = [o for o in outcomes if isinstance(o, APIError)]
    assert len(failed) == 1 and "connections busy" in str(failed[0])
    assert len(fake_speech_api.requests) == 1  # the second never reached the API
    assert _sample("callcenter_http_pool_exhausted_total", api="pool test tiny") == exhausted + 1
    # Both waits were measured: one found a connection at once, one waited the time-out.
    assert _sample("callcenter_http_pool_wait_seconds_count", api="pool test tiny") >= 2
    assert _sample("callcenter_http_pool_wait_seconds_sum", api="pool test tiny") >= 0.3
    client.close()


def test_a_pool_as_large_as_the_requests_lets_them_all_through(fake_speech_api):
    fake_speech_api.delay = 0.5
    client = _client(fake_speech_api, "pool test sized", connections=4)
    with ThreadPoolExecutor(4) as threads:
        answers = list(
            threads.map(lambda _: client.post_json("text:synthesize", SYNTHESIS), range(4))
        )
    assert all("audioContent" in answer for answer in answers)
    assert _sample("callcenter_http_pool_exhausted_total", api="pool test sized") == 0
    client.close()


@pytest.mark.parametrize("pool,max_calls,expected", [(0, 200, 200), (0, 30, 30), (8, 200, 8)])
def test_a_speech_engine_holds_a_connection_per_call_unless_told_otherwise(
    settings, pool, max_calls, expected
):
    settings.SPEECH_API_POOL, settings.AUDIOSOCKET_MAX_CALLS = pool, max_calls
    assert speech_api_pool_size() == expected
    engine = GoogleSTTEngine(base_url="http://127.0.0.1:9", api_key="k")
    assert engine.api.max_connections == expected
    assert engine.api.pool_timeout == settings.SPEECH_API_POOL_TIMEOUT


def test_a_server_on_remote_engines_has_a_thread_per_call_and_warns_of_a_small_pool(
    settings, caplog
):
    from calls.audiosocket.server import AudioSocketServer, ServerConfig
    from calls.voice.stt import get_stt_engine
    from calls.voice.tts import get_tts_engine

    settings.STT_ENGINE = settings.TTS_ENGINE = "google"
    settings.SPEECH_API_POOL = 4
    get_stt_engine.cache_clear()
    get_tts_engine.cache_clear()
    try:
        server = AudioSocketServer(ServerConfig(max_calls=120))
        # Requests wait in the pool, where the wait is measured, not unseen in the executor.
        assert server.stt_executor._max_workers == 120
        assert server.tts_executor._max_workers == 120
        assert server.services.stt.api.max_connections == 4
        assert "SPEECH_API_POOL=4 connections for up to 120 calls" in caplog.text
        server.stt_executor.shutdown()
        server.tts_executor.shutdown()
    finally:
        get_stt_engine.cache_clear()
        get_tts_engine.cache_clear()
