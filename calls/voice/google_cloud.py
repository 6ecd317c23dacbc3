"""Speech engines on Google Cloud Speech-to-Text (v1 speech:recognize) and Text-to-Speech
(v1 text:synthesize), with an API key sent in the X-Goog-Api-Key header (never in the URL, so
it cannot reach a log line)."""

import base64

from django.conf import settings

from ..http_api import APIClient, APIError, speech_api_client
from .audio import pcm_from_wav, resample
from .stt import STTEngine, STTError, Transcript
from .tts import TTSEngine, TTSError

LANGUAGE_CODES = {"uk": "uk-UA", "ru": "ru-RU", "en": "en-US"}

# Phrase hints: what a tire shop's callers say that a general model might spell another way.
SPEECH_CONTEXT = {
    "en": ["R13", "R14", "R15", "R16", "R17", "R18", "R19", "R20", "winter tires", "summer tires",
           "all-season", "studded", "Michelin", "Continental", "Nokian", "Goodyear", "Bridgestone",
           "Pirelli", "Hankook", "operator", "order number"],
    "uk": ["R13", "R14", "R15", "R16", "R17", "R18", "R19", "R20", "зимові шини", "літні шини",
           "всесезонні", "шиповані", "Michelin", "Continental", "Nokian", "Goodyear", "Pirelli",
           "оператор", "номер замовлення"],
    "ru": ["R13", "R14", "R15", "R16", "R17", "R18", "R19", "R20", "зимние шины", "летние шины",
           "всесезонные", "шипованные", "Michelin", "Continental", "Nokian", "Goodyear", "Pirelli",
           "оператор", "номер заказа"],
}  # fmt: skip
# More hints when the agent expects a short answer; none for a name, so a caller's name is not
# bent into a brand.
EXPECT_CONTEXT = {
    "confirm": {"en": ["yes", "no", "that's right"], "uk": ["так", "ні", "правильно"],
                "ru": ["да", "нет", "правильно"]},
    "fulfilment": {"en": ["pick up", "delivery"], "uk": ["самовивіз", "доставка"],
                   "ru": ["самовывоз", "доставка"]},
}  # fmt: skip


def speech_context(language: str, expect: str = "free") -> list[str]:
    """The phrase hints for what the agent asked for."""
    if expect == "name":
        return []
    return SPEECH_CONTEXT.get(language, []) + EXPECT_CONTEXT.get(expect, {}).get(language, [])


def _language_code(language: str) -> str:
    return LANGUAGE_CODES.get(language, language)


def _language_of(code: str, allowed: tuple[str, ...]) -> str | None:
    """Google's answer ("ru-ru", lower case) as one of the allowed languages, or None."""
    short = code.lower().split("-")[0]
    return short if short in allowed else None


def _client(name: str, base_url: str, api_key: str) -> APIClient:
    return speech_api_client(name, base_url, {"X-Goog-Api-Key": api_key} if api_key else {})


class GoogleSTTEngine(STTEngine):
    """Synchronous recognition of one utterance as LINEAR16 at the call's own rate."""

    name = "google"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str = ""):
        self.model = model or settings.GOOGLE_STT_MODEL
        self.api = _client(
            "google speech-to-text",
            base_url or settings.GOOGLE_STT_URL,
            settings.GOOGLE_API_KEY if api_key is None else api_key,
        )

    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int,
        language: str,
        expect: str = "free",
        detect: tuple[str, ...] = (),
    ) -> Transcript:
        config = {
            "encoding": "LINEAR16",
            "sampleRateHertz": sample_rate,
            "languageCode": _language_code(language),
            "maxAlternatives": 1,
        }
        others = [_language_code(code) for code in detect if code != language]
        if others:
            # Google picks among the call's language and these; each result names its own.
            config["alternativeLanguageCodes"] = others
        if phrases := speech_context(language, expect):
            config["speechContexts"] = [{"phrases": phrases}]
        if self.model:
            config["model"] = self.model
        payload = {"config": config, "audio": {"content": base64.b64encode(pcm).decode()}}
        try:
            body = self.api.post_json("speech:recognize", payload)
        except APIError as error:
            raise STTError(str(error)) from error
        texts, confidences, heard = [], [], []
        try:
            for result in body.get("results", []):
                if detect and (code := _language_of(result.get("languageCode", ""), detect)):
                    heard.append(code)
                alternatives = result.get("alternatives") or [{}]
                best = alternatives[0]
                if text := best.get("transcript", "").strip():
                    texts.append(text)
                if "confidence" in best:
                    confidences.append(float(best["confidence"]))
        except (AttributeError, TypeError, ValueError) as error:
            raise STTError(f"google speech-to-text: unexpected answer ({error!r})") from error
        confidence = round(sum(confidences) / len(confidences), 3) if confidences else None
        if not detect:
            return Transcript(" ".join(texts), confidence)
        detected = max(heard, key=heard.count) if heard else language
        return Transcript(" ".join(texts), confidence, detected)


class GoogleTTSEngine(TTSEngine):
    """LINEAR16 synthesised at the call's rate, so no resampling is needed."""

    name = "google"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, voice: str = ""):
        self.voice = voice or settings.TTS_VOICE
        self.api = _client(
            "google text-to-speech",
            base_url or settings.GOOGLE_TTS_URL,
            settings.GOOGLE_API_KEY if api_key is None else api_key,
        )

    def voice_for(self, language: str) -> str:
        """TTS_VOICES' voice for the call's language, else TTS_VOICE unless it is another
        language's ("uk-UA-Wavenet-A" never reads Russian): then Google's default voice."""
        voice = settings.TTS_VOICES.get(language) or self.voice
        named = voice.split("-")[:2]
        if len(named) == 2 and "-".join(named).lower() != _language_code(language).lower():
            return ""
        return voice

    def voice_key(self, language: str) -> str:
        return self.voice_for(language) or _language_code(language)

    def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        voice = {"languageCode": _language_code(language)}
        if name := self.voice_for(language):
            voice["name"] = name
        payload = {
            "input": {"text": text},
            "voice": voice,
            "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": sample_rate},
        }
        try:
            body = self.api.post_json("text:synthesize", payload)
            pcm, rate = pcm_from_wav(base64.b64decode(body["audioContent"], validate=True))
        except APIError as error:
            raise TTSError(str(error)) from error
        except (KeyError, TypeError, ValueError) as error:
            message = f"google text-to-speech: the audio cannot be read ({error!r})"
            raise TTSError(message) from error
        if not pcm:
            raise TTSError("google text-to-speech: the answer has no audio")
        return resample(pcm, rate, sample_rate)
