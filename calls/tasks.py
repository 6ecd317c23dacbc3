"""Celery tasks of the calls app."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from callcenter.publisher import publish

from . import reconcile
from .models import Call, CallStatus, Turn
from .voice.tts import TTSError
from .voice.tts_cache import COMMON_SAMPLE_RATES, render_fixed_prompts
from .wrap_up import wrap_up

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(TTSError, OSError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def render_prompts(languages=None, sample_rates=COMMON_SAMPLE_RATES, force=False) -> dict:
    """Render the fixed prompts into the TTS prompt store ahead of calls. Idempotent: prompts
    already stored are kept, so a retry after a TTS outage renders only what is missing."""
    rendered = render_fixed_prompts(languages, tuple(sample_rates), force=force)
    summary = {
        "synthesised": sum(r.synthesised for r in rendered),
        "kept": sum(not r.synthesised for r in rendered),
    }
    logger.info("fixed prompts rendered: %(synthesised)d synthesised, %(kept)d kept", summary)
    return summary


@shared_task(
    autoretry_for=(OSError, InterfaceError, OperationalError),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=8,
)
def wrap_up_call(call_uuid: str) -> bool:
    """After a call ends (queued by the recorder): its summary line, checks and statistics.
    True if it was wrapped up. Never the summary itself: Celery logs what a task returns, and
    the summary quotes the caller's first words (often their name)."""
    return wrap_up(call_uuid) is not None


def queue_wrap_ups(call_uuids: list) -> None:
    """Queue the wrap-up of calls just written as ended, without waiting on the broker (the
    recorder calls this from the database thread every call shares). A broker outage loses
    nothing: the sweep below wraps up every ended call that was missed."""
    for call_uuid in call_uuids:
        publish(wrap_up_call, str(call_uuid), what=f"the wrap-up of call {call_uuid}")


@shared_task
def wrap_up_pending_calls(limit: int = 500) -> int:
    """The sweep: calls that ended a while ago with no wrap-up (its task never reached the
    broker, or a worker was lost) are wrapped up now. Runs every WRAP_UP_SWEEP_INTERVAL s."""
    cutoff = timezone.now() - timedelta(seconds=settings.WRAP_UP_SWEEP_MIN_AGE)
    uuids = list(
        Call.objects.filter(
            status=CallStatus.ENDED, wrapped_up_at__isnull=True, ended_at__lt=cutoff
        )
        .order_by("ended_at")
        .values_list("uuid", flat=True)[:limit]
    )
    for call_uuid in uuids:
        wrap_up_call.delay(str(call_uuid))
    return len(uuids)


@shared_task
def end_orphaned_calls() -> int:
    """Calls left in progress by a server process that died (no heartbeat for
    CALL_STALE_AFTER), and announced calls that never connected, are ended as failed."""
    return reconcile.end_orphaned_calls(stale_after=timedelta(seconds=settings.CALL_STALE_AFTER))


@shared_task
def purge_old_transcripts(days: int | None = None, batch: int = 5000) -> int:
    """Delete the turns (what was said) of calls started more than `days` ago
    (TRANSCRIPT_RETENTION_DAYS; 0 keeps them). The calls, their outcomes and orders stay."""
    days = settings.TRANSCRIPT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = Turn.objects.filter(call__started_at__lt=cutoff)
    deleted = 0
    # In batches, so a first run over years of calls never holds one huge transaction.
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        deleted += Turn.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        logger.info("retention: deleted %d turns of calls older than %d days", deleted, days)
    return deleted
