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

# Speech-to-text queue and admission control (calls/admission.py, calls/hearing.py).
STT_QUEUE_JOBS = Gauge("callcenter_stt_queue_jobs", "Transcriptions waiting or running.")
STT_QUEUE_WAIT = Gauge(
    "callcenter_stt_queue_wait_estimate_seconds",
    "Estimated wait of a transcription queued now (average job x jobs ahead / workers).",
)
STT_JOB_SECONDS = Gauge(
    "callcenter_stt_job_seconds_average", "Moving average of the seconds one transcription takes."
)
STT_ADMISSIONS = Counter(
    "callcenter_stt_admissions",
    "New calls taken (admitted) or turned away while speech-to-text was over capacity (refused).",
    ["decision"],
)
STT_FILLERS = Counter(
    "callcenter_stt_fillers",
    "Fillers ('one moment') played because the STT queue would have made the reply late.",
)
EARLY_TRANSCRIPTIONS = Counter(
    "callcenter_stt_early_transcriptions",
    "Early transcriptions at a pause: used (the caller said no more), dropped (they went on), "
    "skipped (no idle worker, or one of the call's still running).",
    ["result"],
)
for _decision in ("admitted", "refused"):
    STT_ADMISSIONS.labels(_decision)
for _result in ("used", "dropped", "skipped"):
    EARLY_TRANSCRIPTIONS.labels(_result)

# HTTP clients of the speech APIs and the LLM (calls/http_api.py): how long each request waited
# for a free connection of its pool, and how many found none in time.
HTTP_POOL_WAIT = Histogram(
    "callcenter_http_pool_wait_seconds",
    "Time a request to an engine's API waited for a free connection of its pool.",
    ["api"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
HTTP_POOL_EXHAUSTED = Counter(
    "callcenter_http_pool_exhausted",
    "Requests to an engine's API that found no free connection within the pool time-out.",
    ["api"],
)

# The staff's live monitor (calls/live.py): events sent to the channel layer, pushed out of the
# publisher's full queue, or refused by the layer.
LIVE_EVENTS = Counter(
    "callcenter_live_events", "Live monitor events, by what became of them.", ["result"]
)
