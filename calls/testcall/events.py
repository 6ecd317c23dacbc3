"""What the test-call page is told as the call goes on (docs/test-calls.md, the protocol): every
turn as it is recorded, what the agent understood after each reply, the exchange's timings, and
the call's language when it changes. A CallWatcher of the recorder (calls/recorder.py), so the
session and the text chat need no hooks of their own."""

import uuid
from collections.abc import Callable, Mapping

from ..agent.base import CallContext
from ..agent.understood import understood
from ..models import TurnRole


def timing_event(fields: Mapping) -> dict | None:
    """A bot turn's timings as the page shows them, ms from the end of the caller's speech (or
    None for a turn that answered no speech: the greeting, a prompt). reply_ready_ms: the reply
    text was ready; first_audio_ms: its first frame left for the caller (total_ms)."""
    stages = [fields.get(name) for name in ("endpoint_ms", "stt_ms", "agent_ms")]
    if all(stage is None for stage in stages) and fields.get("total_ms") is None:
        return None
    known = [stage for stage in stages if stage is not None]
    return {
        "type": "timing",
        "endpoint_ms": fields.get("endpoint_ms"),
        "stt_ms": fields.get("stt_ms"),
        "agent_ms": fields.get("agent_ms"),
        "reply_ready_ms": sum(known) if len(known) == len(stages) else None,
        "first_audio_ms": fields.get("total_ms"),
    }


class TestCallEvents:
    """Turns one call's records into the page's events, handed to `emit` (never blocks)."""

    __test__ = False  # a test call, not a test: pytest must not collect it

    def __init__(self, context: CallContext, emit: Callable[[dict], None]) -> None:
        self.context = context
        self.emit = emit
        self.language = context.language

    def call_changed(self, fields: Mapping) -> None:
        language = fields.get("language")
        if language and language != self.language:
            self.language = language
            self.emit({"type": "language", "language": language})

    def turn_spoken(self, call_uuid: uuid.UUID, fields: Mapping) -> None:
        self.emit(
            {
                "type": "turn",
                "role": fields["role"],
                "text": fields.get("text", ""),
                "sequence": fields["sequence"],
                "interrupted": bool(fields.get("interrupted")),
                "via": fields.get("via") or "voice",
            }
        )
        if fields["role"] != TurnRole.BOT:
            return
        self.emit({"type": "understood", **understood(self.context)})
        if (timing := timing_event(fields)) is not None:
            self.emit(timing)
