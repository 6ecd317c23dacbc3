"""Render the bot's fixed prompts into the TTS prompt store, so they play with no delay."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.voice.tts import TTSError
from calls.voice.tts_cache import COMMON_SAMPLE_RATES, render_fixed_prompts

LANGUAGES = ("uk", "ru", "en")


class Command(BaseCommand):
    help = (
        "Render the fixed prompts (greeting, busy message, apologies) with the configured TTS "
        f"engine into TTS_CACHE_DIR ({settings.TTS_CACHE_DIR}). Run it after a deploy or after "
        "changing SHOP_NAME or the TTS engine or voice; AudioSocket processes read the store."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--language",
            action="append",
            choices=LANGUAGES,
            help="a language to render (repeatable; default: every one of CALL_LANGUAGES, "
            f"{','.join(settings.CALL_LANGUAGES)})",
        )
        parser.add_argument(
            "--rate",
            action="append",
            type=int,
            help=f"a call sample rate in Hz (repeatable; default {COMMON_SAMPLE_RATES})",
        )
        parser.add_argument(
            "--force", action="store_true", help="synthesise again even what is stored"
        )

    def handle(self, *args, language, rate, force, verbosity, **options):
        started = time.monotonic()
        try:
            rendered = render_fixed_prompts(
                language, tuple(rate or COMMON_SAMPLE_RATES), force=force
            )
        except TTSError as error:
            raise CommandError(f"the TTS engine failed: {error}") from error
        except OSError as error:
            raise CommandError(f"the prompt store cannot be written: {error}") from error
        for item in rendered:
            if verbosity >= 2:
                state = "synthesised" if item.synthesised else "kept"
                self.stdout.write(f"{state:12} {item.sample_rate:>5} Hz  {item.text}")
        synthesised = sum(item.synthesised for item in rendered)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(rendered)} prompt sentences in {settings.TTS_CACHE_DIR}: {synthesised} "
                f"synthesised, {len(rendered) - synthesised} already there "
                f"({time.monotonic() - started:.1f} s)"
            )
        )
