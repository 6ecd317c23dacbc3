"""Celery tasks of the calls app."""

import logging

from celery import shared_task

from .voice.tts import TTSError
from .voice.tts_cache import COMMON_SAMPLE_RATES, render_fixed_prompts

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


@shared_task
def wrap_up_call(call_uuid: str) -> None:
    """Placeholder until the wrap-up lands (this session)."""
