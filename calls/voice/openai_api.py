"""Speech engines on the OpenAI audio API, which self-hosted servers speak too (speaches,
faster-whisper-server, LocalAI, Kokoro-FastAPI, openedai-speech): POST /audio/transcriptions
and POST /audio/speech under a base URL."""

from django.conf import settings

from ..http_api import APIClient, APIError, speech_api_client
from .audio import pcm_from_wav, resample, wav_bytes
from .stt import STTEngine, STTError, Transcript
from .stt_prompts import prompt_for
from .tts import TTSEngine, TTSError

# response_format "pcm" is raw 16-bit mono PCM at 24 kHz (OpenAI's documented rate).
PCM_RATE = 24000
# verbose_json names the language it detected: OpenAI by name, some servers by code.
LANGUAGE_NAMES = {"ukrainian": "uk", "russian": "ru", "english": "en"}


def _client(name: str, base_url: str, api_key: str) -> APIClient:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return speech_api_client(name, base_url, headers)


class OpenAISTTEngine(STTEngine):
    """POST /audio/transcriptions with the utterance as WAV at the call's rate."""

    name = "openai"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str = ""):
        self.model = model or settings.STT_API_MODEL
        self.api = _client(
            "openai transcription",
            base_url or settings.STT_API_URL,
            settings.STT_API_KEY if api_key is None else api_key,
        )

    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int,
        language: str,
        expect: str = "free",
        detect: tuple[str, ...] = (),
    ) -> Transcript:
        if len(detect) > 1:
            # `language` left open: the server detects it and names it in verbose_json. One
            # outside the allowed set is not taken: the utterance is heard again in the call's.
            text, named = self._request(pcm, sample_rate, None, expect, "verbose_json")
            heard = LANGUAGE_NAMES.get(str(named).lower(), str(named).lower())
            if heard in detect:
                return Transcript(text, None, heard)
            text, _ = self._request(pcm, sample_rate, language, expect, "json")
            return Transcript(text, None, language)
        text, _ = self._request(pcm, sample_rate, language, expect, "json")
        # The API gives no confidence in its plain JSON answer.
        return Transcript(text, None)

    def _request(
        self, pcm: bytes, sample_rate: int, language: str | None, expect: str, response_format: str
    ) -> tuple[str, str | None]:
        fields = {"model": self.model, "response_format": response_format}
        if language:
            fields["language"] = language
        # A Whisper server takes the same prompt as the embedded Whisper, fitted to the slot
        # (none while it detects: the prompt is in one language).
        if language and (prompt := prompt_for(language, expect)):
            fields["prompt"] = prompt
        try:
            response = self.api.post(
                "audio/transcriptions",
                data=fields,
                files={"file": ("utterance.wav", wav_bytes(pcm, sample_rate), "audio/wav")},
            )
            answer = response.json()
            text = answer["text"]
        except APIError as error:
            raise STTError(str(error)) from error
        except (ValueError, KeyError, TypeError) as error:
            raise STTError(f"openai transcription: unexpected answer ({error!r})") from error
        if not isinstance(text, str):
            raise STTError("openai transcription: the answer's text is not a string")
        return text.strip(), answer.get("language") if isinstance(answer, dict) else None


class OpenAITTSEngine(TTSEngine):
    """POST /audio/speech; "pcm" (24 kHz raw) by default, "wav" for servers without pcm."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str = "",
        voice: str = "",
        response_format: str = "",
    ):
        self.model = model or settings.TTS_API_MODEL
        self.voice = voice or settings.TTS_VOICE or "alloy"
        self.response_format = response_format or settings.TTS_API_FORMAT
        if self.response_format not in ("pcm", "wav"):
            raise TTSError(f"TTS_API_FORMAT must be pcm or wav, not {self.response_format!r}")
        self.base_url = base_url or settings.TTS_API_URL
        self.api = _client(
            "openai speech", self.base_url, settings.TTS_API_KEY if api_key is None else api_key
        )

    def voice_for(self, language: str) -> str:
        """TTS_VOICES' voice for the call's language, else the one voice for all."""
        return settings.TTS_VOICES.get(language) or self.voice

    def voice_key(self, language: str) -> str:
        # The server and model make the sound, in the voice chosen for the language.
        return f"{self.base_url}|{self.model}|{self.voice_for(language)}"

    def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        payload = {
            "model": self.model,
            "input": text,
            "voice": self.voice_for(language),
            "response_format": self.response_format,
        }
        try:
            audio = self.api.post("audio/speech", json=payload).content
            if self.response_format == "wav":
                pcm, rate = pcm_from_wav(audio)
            else:
                pcm, rate = audio[: len(audio) - len(audio) % 2], PCM_RATE
        except APIError as error:
            raise TTSError(str(error)) from error
        except ValueError as error:
            raise TTSError(f"openai speech: the audio cannot be read ({error})") from error
        if not pcm:
            raise TTSError("openai speech: the answer has no audio")
        return resample(pcm, rate, sample_rate)
