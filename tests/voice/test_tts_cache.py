"""Fixed prompts rendered ahead of time: the command and the Celery task fill the prompt store
once per engine, voice, language and rate; calls then play them with no synthesis at all, even
while the TTS engine is away."""

import asyncio
from io import StringIO

import pytest
from celery.exceptions import Retry
from django.core.management import CommandError, call_command

from calls.prompts import GREETING, prompt, prompt_sentences, split_sentences
from calls.tasks import render_prompts
from calls.voice.audio import duration_ms
from calls.voice.tts import EspeakNGEngine, TTSEngine, TTSError, get_tts_engine
from calls.voice.tts_cache import PromptStore, TTSCache, render_prompt
from tests.helpers.fake_speech_api import API_KEY


@pytest.fixture
def cloud_tts(fake_speech_api, settings, tmp_path):
    """The OpenAI TTS engine on the fake API, with the prompt store in a temporary directory."""
    settings.TTS_ENGINE = "openai"
    settings.TTS_API_URL, settings.TTS_API_KEY = fake_speech_api.openai_url, API_KEY
    settings.TTS_CACHE_DIR = tmp_path / "prompts"
    get_tts_engine.cache_clear()
    yield fake_speech_api
    get_tts_engine.cache_clear()


def _render(*args) -> str:
    out = StringIO()
    call_command("render_prompts", *args, stdout=out)
    return out.getvalue()


def test_the_command_renders_each_prompt_sentence_once(cloud_tts, settings):
    sentences = prompt_sentences("en")
    assert "Hello!" in sentences and len(sentences) >= 5

    output = _render("--language", "en")
    assert f"{2 * len(sentences)} synthesised" in output  # at 8 and 16 kHz
    assert len(cloud_tts.requests) == 2 * len(sentences)
    assert len(list((settings.TTS_CACHE_DIR / "openai").glob("*.pcm"))) == 2 * len(sentences)

    # A second run (another deploy, another worker) finds them all and asks the API nothing.
    assert "0 synthesised" in _render("--language", "en")
    assert len(cloud_tts.requests) == 2 * len(sentences)

    # --force renders them again, e.g. after the shop re-recorded its voice on the server side.
    _render("--language", "en", "--rate", "8000", "--force")
    assert len(cloud_tts.requests) == 3 * len(sentences)


def test_another_voice_or_language_is_another_prompt(cloud_tts, settings):
    _render("--language", "en", "--rate", "8000")
    before = len(cloud_tts.requests)
    settings.TTS_VOICE = "nova"
    get_tts_engine.cache_clear()
    _render("--language", "en", "--rate", "8000")
    assert len(cloud_tts.requests) == 2 * before
    assert cloud_tts.requests[-1].json["voice"] == "nova"
    _render("--language", "uk", "--rate", "8000")
    assert cloud_tts.requests[-1].json["input"] in prompt_sentences("uk")


def test_a_tts_outage_is_a_clear_command_error(cloud_tts):
    cloud_tts.fail_next(503, count=2)
    with pytest.raises(CommandError, match=r"the TTS engine failed: .*HTTP 503"):
        _render("--language", "en")


# The task's body, run in-process on either database; a real worker on Redis runs it in the
# staff-side tests.
def test_the_celery_task_renders_what_is_missing(cloud_tts, settings):
    count = 2 * len(prompt_sentences(settings.CALL_LANGUAGE))
    assert render_prompts.apply().get() == {"synthesised": count, "kept": 0}
    assert render_prompts.apply().get() == {"synthesised": 0, "kept": count}


def test_the_celery_task_retries_a_tts_outage_and_loses_no_prompt(cloud_tts, settings):
    count = 2 * len(prompt_sentences(settings.CALL_LANGUAGE))
    _render("--rate", "8000")  # half of them were rendered earlier
    cloud_tts.fail_next(503, count=2)  # the next prompt fails, with its one quick retry
    # The task asks Celery to run it again later (run in-process, that reaches the caller)...
    with pytest.raises(Retry, match="HTTP 503"):
        render_prompts.apply()
    # ...and the retry renders what is missing, keeping what is there.
    assert render_prompts.apply().get() == {"synthesised": count // 2, "kept": count // 2}
    assert len(list((settings.TTS_CACHE_DIR / "openai").glob("*.pcm"))) == count


def test_a_prompt_still_plays_when_the_store_cannot_be_written(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    rendered = render_prompt(EspeakNGEngine(), PromptStore(blocked), "Hello!", "en", 8000)
    assert rendered.synthesised and duration_ms(rendered.pcm, 8000) > 200


class _CountingEngine(TTSEngine):
    name = "counting"

    def __init__(self):
        self.texts = []

    def synthesize(self, text, language, sample_rate):
        self.texts.append(text)
        if text == "fail":
            raise TTSError("no")
        return bytes(320)


async def test_prompts_outlive_the_lru_and_failures_are_not_cached(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    engine = _CountingEngine()
    cache = TTSCache(engine, ThreadPoolExecutor(1), PromptStore(tmp_path), max_entries=2)
    await cache.get("Hello!", "en", 8000, prompt=True)
    for text in ("one", "two", "three", "one"):
        await cache.get(text, "en", 8000)
    await cache.get("Hello!", "en", 8000)
    # "one" fell out of the LRU and was synthesised again; the prompt never was.
    assert engine.texts == ["Hello!", "one", "two", "three", "one"]
    for _ in range(2):
        with pytest.raises(TTSError):
            await cache.get("fail", "en", 8000)
    assert engine.texts.count("fail") == 2
    # A new process (a new cache) reads the prompt from the store.
    fresh = TTSCache(engine, ThreadPoolExecutor(1), PromptStore(tmp_path))
    assert await asyncio.wait_for(fresh.get("Hello!", "en", 8000, prompt=True), 5) == bytes(320)
    assert engine.texts.count("Hello!") == 1


def test_a_shop_with_two_languages_has_every_prompt_rendered_in_both(cloud_tts, settings):
    """CALL_LANGUAGES=uk,ru: the greeting and every fixed prompt, in each language, at each
    rate, with the voice chosen for that language."""
    settings.CALL_LANGUAGES, settings.CALL_LANGUAGE = ["uk", "ru"], "uk"
    settings.TTS_VOICES = {"uk": "uk-voice", "ru": "ru-voice"}
    count = 2 * (len(prompt_sentences("uk")) + len(prompt_sentences("ru")))
    assert render_prompts.apply().get() == {"synthesised": count, "kept": 0}
    voices = {r.json["input"]: r.json["voice"] for r in cloud_tts.requests}
    greeting_uk = split_sentences(prompt(GREETING, "uk"))[0]
    greeting_ru = split_sentences(prompt(GREETING, "ru"))[0]
    assert voices[greeting_uk] == "uk-voice" and voices[greeting_ru] == "ru-voice"
