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
# How late each 20 ms tick of the frame clock ran: every call's outbound audio leaves on it, so
# this is the pacing jitter Asterisk hears, measured where it is made.
FRAME_CLOCK_LATENESS = Histogram(
    "callcenter_frame_clock_lateness_seconds",
    "How late the 20 ms frame clock ticked (all calls' outbound frames leave on the tick).",
    buckets=(0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1),
)
ACTIVE_CALLS = Gauge("callcenter_active_calls", "Calls in progress in this process.")
CALLS_ENDED = Counter("callcenter_calls_ended", "Calls ended, by outcome.", ["outcome"])
ENGINE_ERRORS = Counter("callcenter_engine_errors", "Speech or agent engine failures.", ["stage"])
CALLS_STARTED = Counter("callcenter_calls_started", "Calls answered by this process.")
TURNS = Counter("callcenter_turns", "Turns recorded, by who spoke (caller or bot).", ["role"])
ORDERS_PLACED = Counter("callcenter_orders_placed", "Orders the bot placed for callers.")


def observe_turn(**stage_ms: int | None) -> None:
    for stage, ms in stage_ms.items():
        if ms is not None:
            TURN_STAGES[stage].observe(ms / 1000)


RECORDS_QUARANTINED = Counter(
    "callcenter_records_quarantined",
    "Call or turn records the database refused, kept in the quarantine table instead.",
    ["kind"],
)
RECORDS_STUCK = Gauge(
    "callcenter_records_stuck", "1 while this process cannot write its call records."
)
