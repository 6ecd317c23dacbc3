"""Speech engines on the OpenAI audio API, which self-hosted servers speak too (speaches,
faster-whisper-server, LocalAI, Kokoro-FastAPI, openedai-speech): POST /audio/transcriptions
and POST /audio/speech under a base URL."""

from django.conf import settings

from ..http_api import APIClient, APIError
from .audio import pcm_from_wav, resample, wav_bytes
from .stt import STTEngine, STTError, Transcript
from .stt_prompts import prompt_for
from .tts import TTSEngine, TTSError

# response_format "pcm" is raw 16-bit mono PCM at 24 kHz (OpenAI's documented rate).
PCM_RATE = 24000


def _client(name: str, base_url: str, api_key: str) -> APIClient:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return APIClient(name, base_url, headers, settings.SPEECH_API_TIMEOUT)


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
        self, pcm: bytes, sample_rate: int, language: str, expect: str = "free"
    ) -> Transcript:
        fields = {"model": self.model, "language": language, "response_format": "json"}
        # A Whisper server takes the same prompt as the embedded Whisper, fitted to the slot.
        if prompt := prompt_for(language, expect):
            fields["prompt"] = prompt
        try:
            response = self.api.post(
                "audio/transcriptions",
                data=fields,
                files={"file": ("utterance.wav", wav_bytes(pcm, sample_rate), "audio/wav")},
            )
            text = response.json()["text"]
        except APIError as error:
            raise STTError(str(error)) from error
        except (ValueError, KeyError, TypeError) as error:
            raise STTError(f"openai transcription: unexpected answer ({error!r})") from error
        if not isinstance(text, str):
            raise STTError("openai transcription: the answer's text is not a string")
        # The API gives no confidence in its plain JSON answer.
        return Transcript(text.strip(), None)


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

    def voice_key(self, language: str) -> str:
        # The voice speaks every language; the server and model make the sound.
        return f"{self.base_url}|{self.model}|{self.voice}"

    def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        payload = {
            "model": self.model,
            "input": text,
            "voice": self.voice,
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
