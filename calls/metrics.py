"""Prometheus metrics of the call pipeline, one histogram per stage of a turn."""

from prometheus_client import Counter, Gauge, Histogram

# Seconds: the shop's minimum is p95 under 2 s end to end; we aim far under 1 s.
BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

TURN_STAGES = {
    "endpoint": Histogram(
        "callcenter_turn_endpoint_seconds",
        "End of the caller's speech to the endpoint firing (the silence it waits for).",
        buckets=BUCKETS,
    ),
    "stt": Histogram(
        "callcenter_turn_stt_seconds", "Speech-to-text of one utterance.", buckets=BUCKETS
    ),
    "agent": Histogram(
        "callcenter_turn_agent_seconds", "The agent's reply to one utterance.", buckets=BUCKETS
    ),
    "tts": Histogram(
        "callcenter_turn_tts_first_audio_seconds",
        "Reply text to its first synthesised audio.",
        buckets=BUCKETS,
    ),
    "total": Histogram(
        "callcenter_turn_total_seconds",
        "End of the caller's speech to the first frame of the reply sent to Asterisk.",
        buckets=BUCKETS,
    ),
}
ACTIVE_CALLS = Gauge("callcenter_active_calls", "Calls in progress in this process.")
CALLS_ENDED = Counter("callcenter_calls_ended", "Calls ended, by outcome.", ["outcome"])
ENGINE_ERRORS = Counter("callcenter_engine_errors", "Speech or agent engine failures.", ["stage"])


def observe_turn(**stage_ms: int | None) -> None:
    for stage, ms in stage_ms.items():
        if ms is not None:
            TURN_STAGES[stage].observe(ms / 1000)
