"""Phone calls and what was said: one Call per AudioSocket connection, a Turn per utterance."""

from django.db import models
from django.utils import timezone


class Language(models.TextChoices):
    UKRAINIAN = "uk", "Ukrainian"
    RUSSIAN = "ru", "Russian"
    ENGLISH = "en", "English"


class CallStatus(models.TextChoices):
    # The dialplan handed over the caller's number (POST /calls/<uuid>/caller); no audio yet.
    ANNOUNCED = "announced", "Announced, not connected"
    IN_PROGRESS = "in_progress", "In progress"
    ENDED = "ended", "Ended"


class CallOutcome(models.TextChoices):
    ORDER_PLACED = "order_placed", "Order placed"
    INFO_GIVEN = "info_given", "Information given"
    TRANSFERRED = "transferred", "Transferred to an operator"
    ABANDONED = "abandoned", "Abandoned by the caller"
    FAILED = "failed", "Failed"


class Call(models.Model):
    uuid = models.UUIDField(
        "UUID", unique=True, help_text="The call's UUID as Asterisk sent it over AudioSocket."
    )
    caller_number = models.CharField(
        max_length=32, blank=True, help_text="Handed over by the dialplan when it is known."
    )
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="The language the call ended in: the bot follows the caller among the shop's.",
    )
    sample_rate = models.PositiveIntegerField(
        null=True, blank=True, help_text="Audio sample rate the caller's frames use, Hz."
    )
    status = models.CharField(
        max_length=16, choices=CallStatus.choices, default=CallStatus.IN_PROGRESS
    )
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, blank=True)
    end_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the connection ended, e.g. 'caller hung up'."
    )
    started_at = models.DateTimeField(default=timezone.now, help_text="First packet received.")
    answered_at = models.DateTimeField(null=True, blank=True, help_text="Greeting started.")
    ended_at = models.DateTimeField(null=True, blank=True)
    # Written after the call by the wrap-up task (calls.tasks.wrap_up_call).
    summary = models.CharField(
        max_length=300, blank=True, help_text="One line on what the call achieved."
    )
    needs_review = models.BooleanField(
        default=False, help_text="The wrap-up found something staff should look at."
    )
    review_reason = models.CharField(max_length=200, blank=True)
    avg_reply_ms = models.PositiveIntegerField(
        "average reply latency, ms",
        null=True,
        blank=True,
        help_text="End of the caller's speech to the bot's first reply frame, averaged.",
    )
    wrapped_up_at = models.DateTimeField(null=True, blank=True)
    # Whose call it is while it lasts, so that the calls of a process that died can be ended.
    instance = models.CharField(
        max_length=64, blank=True, help_text="The server process serving it (host:pid:id)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="That process's last sign of life during the call."
    )
    # Placed by staff from the admin's test-call page (calls/testcall), not by a customer.
    is_test = models.BooleanField(
        "test call", default=False, help_text="Placed by staff from the test-call page."
    )
    test_real_orders = models.BooleanField(
        "test call places real orders",
        default=False,
        help_text="The tester ticked 'place real orders'; otherwise its orders are sandbox.",
    )

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            ("export_call", "Can export calls as CSV"),
            ("view_live_calls", "Can watch the live calls monitor"),
            ("place_test_call", "Can talk to the bot from the test-call page"),
        ]
        indexes = [
            models.Index(fields=["-started_at"], name="call_started_idx"),
            models.Index(fields=["status", "-started_at"], name="call_status_idx"),
            models.Index(fields=["caller_number"], name="call_caller_idx"),
        ]

    def __str__(self) -> str:
        return f"Call {self.uuid}"

    @property
    def duration(self):
        """How long the call lasted (so far, while it is in progress), or None."""
        end = self.ended_at or (timezone.now() if self.status == CallStatus.IN_PROGRESS else None)
        return end - self.started_at if end else None


class TurnRole(models.TextChoices):
    CALLER = "caller", "Caller"
    BOT = "bot", "Bot"


class TurnInput(models.TextChoices):
    VOICE = "voice", "Voice"
    DTMF = "dtmf", "Keypad (DTMF)"
    TEXT = "text", "Text (test chat)"


class Turn(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    sequence = models.PositiveIntegerField(help_text="Position of the turn within its call.")
    role = models.CharField(max_length=8, choices=TurnRole.choices)
    via = models.CharField(max_length=8, choices=TurnInput.choices, default=TurnInput.VOICE)
    text = models.TextField(blank=True)
    confidence = models.FloatField(null=True, blank=True, help_text="Speech-to-text confidence.")
    interrupted = models.BooleanField(
        default=False,
        help_text=(
            "Cut short: the caller spoke over the bot (the text is what they heard), or the "
            "caller hung up mid-sentence (the text is what they had said)."
        ),
    )
    start_ms = models.PositiveIntegerField(help_text="Offset from the start of the call, ms.")
    end_ms = models.PositiveIntegerField(help_text="Offset from the start of the call, ms.")
    # Per-stage latencies of a bot turn, ms: end of caller speech → endpoint fired → text →
    # reply text → first synthesised audio; total is end of caller speech → first reply frame.
    endpoint_ms = models.PositiveIntegerField(null=True, blank=True)
    stt_ms = models.PositiveIntegerField("STT ms", null=True, blank=True)
    agent_ms = models.PositiveIntegerField(null=True, blank=True)
    tts_ms = models.PositiveIntegerField("TTS ms", null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "sequence"]
        constraints = [
            # The recorder may retry a batch after a lost connection: a turn is stored once.
            models.UniqueConstraint(fields=["call", "sequence"], name="turn_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"


class QuarantinedRecord(models.Model):
    """A call or turn record the database refused (a constraint, a value out of range): kept
    here as it was, with the reason, so the recorder writes every other record and staff can
    see, fix and re-enter this one. A table, not a file: staff reach it in the admin, and it is
    shared by every AudioSocket host."""

    call_uuid = models.UUIDField("call UUID", db_index=True)
    kind = models.CharField(max_length=8, help_text="'call' or 'turn'.")
    payload = models.JSONField(help_text="The record as the recorder tried to write it.")
    error = models.TextField(help_text="What the database said.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Quarantined {self.kind} of call {self.call_uuid}"
