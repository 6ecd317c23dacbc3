"""A local stand-in for the paid speech APIs, for tests only: the OpenAI audio API under
/openai/v1 and Google Cloud Speech-to-Text / Text-to-Speech v1 under /google/v1.

It speaks each API's wire format (multipart WAV uploads, base64 LINEAR16, raw 24 kHz PCM, the
APIs' error bodies and key checks), and real engines do the work behind it: Whisper hears what is
uploaded and espeak-ng speaks what is asked. So a test that sends audio through it checks the
audio itself, not just the bytes. Tests can make it fail (`fail_next`, `down`) or slow (`delay`,
`slow_for`).
Callers whose speech no engine here can hear (espeak-ng's Ukrainian and Russian, which Whisper
base cannot follow) are taught to it with `knows`: an upload holding that audio is answered
with its text, in its language, as a cloud engine would hear a real voice.
"""

import base64
import email.parser
import email.policy
import json
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from calls.voice.audio import pcm_from_wav, wav_bytes

API_KEY = "test-key"
OPENAI_PCM_RATE = 24000


@cache
def _whisper():
    from calls.voice.stt import FasterWhisperEngine

    return FasterWhisperEngine("tiny.en", window_margin=None)  # hears espeak-ng (server_process)


def _loudest(pcm: bytes, size: int = 640) -> bytes:
    """The clip's loudest 40 ms at 8 kHz (20 ms at 16 kHz): a fingerprint no silence matches."""
    samples = memoryview(pcm).cast("h") if len(pcm) % 2 == 0 else memoryview(pcm[:-1]).cast("h")
    best, at = -1, 0
    for start in range(0, len(samples) - size // 2, size // 4):
        energy = sum(abs(v) for v in samples[start : start + size // 2 : 8])
        if energy > best:
            best, at = energy, start
    return pcm[2 * at : 2 * at + size]


@cache
def _espeak():
    from calls.voice.tts import EspeakNGEngine

    return EspeakNGEngine(words_per_minute=130)  # as clear as a cloud voice can be here


def _streaming_wav(pcm: bytes, rate: int) -> bytes:
    """A WAV as streaming servers write it: the data length unknown (0xFFFFFFFF)."""
    header = wav_bytes(b"", rate)
    return header[:-4] + struct.pack("<I", 0xFFFFFFFF) + pcm


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: dict | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    body: bytes = b""
    status: int = 0  # what the fake answered


class APIFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (its time-out) leaves a broken pipe here; that is expected.
        pass


class FakeAPI:
    """A local HTTP server for tests: records every request, can fail or be slow on purpose;
    subclasses give its routes."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.known: list[tuple[bytes, str, str]] = []  # (fingerprint, text, language)
        self.delay = 0.0
        # Requests whose body holds one of these strings wait this long (seconds) first: one
        # sentence of a reply slow to synthesise while the others are not.
        self.slow_for: dict[str, float] = {}
        self.down: set[str] = set()  # paths that answer 503 until removed
        self._failures: deque[int] = deque()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def knows(self, pcm: bytes, text: str, language: str) -> None:
        """Uploads that hold this audio (at the rate it was sent) are heard as `text`, spoken
        in `language` (uk, ru or en)."""
        self.known.append((_loudest(pcm), text, language))

    def heard(self, pcm: bytes) -> tuple[str, str] | None:
        """(text, language) of a known clip inside the upload, if any."""
        for fingerprint, text, language in self.known:
            if fingerprint in pcm:
                return text, language
        return None

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` requests with this HTTP error status."""
        self._failures.extend([status] * count)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def routes(self) -> dict:
        raise NotImplementedError

    def authorised(self, request: Request) -> None:
        pass

    def answer(self, request: Request) -> tuple[int, str, bytes]:
        if self._failures:
            raise APIFailure(self._failures.popleft(), "The server is overloaded. Try again.")
        if request.path in self.down:
            raise APIFailure(503, "The service is currently unavailable.")
        routes = self.routes()
        if request.path not in routes:
            raise APIFailure(404, f"no route {request.path}")
        self.authorised(request)
        return routes[request.path](request)

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/json"):
                    request.json = json.loads(body or b"{}")
                elif content_type.startswith("multipart/form-data"):
                    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                        f"Content-Type: {content_type}\r\n\r\n".encode() + body
                    )
                    for part in message.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        payload = part.get_payload(decode=True)
                        if part.get_filename():
                            request.files[name] = payload
                        else:
                            request.form[name] = payload.decode()
                request.body = body
                api.requests.append(request)
                if api.delay:
                    time.sleep(api.delay)
                for said, seconds in api.slow_for.items():
                    if said.encode() in body:
                        time.sleep(seconds)
                try:
                    status, kind, payload = api.answer(request)
                except APIFailure as error:
                    status, kind = error.status, "application/json"
                    payload = json.dumps(
                        {"error": {"code": error.status, "message": error.message}}
                    ).encode()
                request.status = status
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


class FakeSpeechAPI(FakeAPI):
    """The OpenAI audio API and Google Cloud speech, with real engines behind them."""

    @property
    def openai_url(self) -> str:
        return f"{self.url}/openai/v1"

    @property
    def google_url(self) -> str:
        return f"{self.url}/google/v1"

    # --- The APIs -------------------------------------------------------------------------------

    def routes(self) -> dict:
        """path -> handler(request) -> (status, content type, body)."""
        return {
            "/openai/v1/audio/transcriptions": self.openai_transcribe,
            "/openai/v1/audio/speech": self.openai_speech,
            "/google/v1/speech:recognize": self.google_recognize,
            "/google/v1/text:synthesize": self.google_synthesize,
        }

    def authorised(self, request: Request) -> None:
        if request.path.startswith("/openai/"):
            if request.headers.get("authorization") != f"Bearer {API_KEY}":
                raise APIFailure(401, "Incorrect API key provided.")
        elif request.headers.get("x-goog-api-key") != API_KEY:
            raise APIFailure(400, "API key not valid. Please pass a valid API key.")

    def openai_transcribe(self, request: Request) -> tuple[int, str, bytes]:
        if not request.form.get("model"):
            raise APIFailure(400, "you must provide a model parameter")
        if "file" not in request.files:
            raise APIFailure(400, "you must provide a file")
        try:
            pcm, rate = pcm_from_wav(request.files["file"])
        except ValueError as error:
            raise APIFailure(400, f"Invalid file format: {error}") from error
        text, language = self.heard(pcm) or (_whisper().transcribe(pcm, rate, "en").text, "en")
        answer = {"text": text}
        if request.form.get("response_format") == "verbose_json":
            # The language it detected (by name, as OpenAI does), or the one it was told.
            names = {"uk": "ukrainian", "ru": "russian", "en": "english"}
            answer["language"] = request.form.get("language") or names[language]
        return 200, "application/json", json.dumps(answer).encode()

    def openai_speech(self, request: Request) -> tuple[int, str, bytes]:
        body = request.json or {}
        if not body.get("input") or not body.get("model") or not body.get("voice"):
            raise APIFailure(400, "model, input and voice are required")
        pcm = _espeak().synthesize(body["input"], "en", OPENAI_PCM_RATE)
        if body.get("response_format") == "pcm":
            return 200, "audio/pcm", pcm
        if body.get("response_format") == "wav":
            return 200, "audio/wav", _streaming_wav(pcm, OPENAI_PCM_RATE)
        raise APIFailure(400, f"unsupported response_format {body.get('response_format')!r}")

    def google_recognize(self, request: Request) -> tuple[int, str, bytes]:
        body = request.json or {}
        config, audio = body.get("config", {}), body.get("audio", {})
        if config.get("encoding") != "LINEAR16" or not config.get("sampleRateHertz"):
            raise APIFailure(400, "Invalid recognition 'config': bad encoding or sample rate.")
        if not config.get("languageCode"):
            raise APIFailure(400, "Invalid recognition 'config': missing language_code.")
        pcm = base64.b64decode(audio.get("content", ""))
        asked = [config["languageCode"], *config.get("alternativeLanguageCodes", [])]
        if known := self.heard(pcm):
            text, language = known
            # Google answers in the asked language the speech is most like, in lower case.
            code = next((c for c in asked if c.lower().startswith(language)), asked[0]).lower()
        else:
            text, code = _whisper().transcribe(pcm, config["sampleRateHertz"], "en").text, "en-us"
        results = (
            [{"alternatives": [{"transcript": text, "confidence": 0.91}], "languageCode": code}]
            if text
            else []
        )
        return 200, "application/json", json.dumps({"results": results}).encode()

    def google_synthesize(self, request: Request) -> tuple[int, str, bytes]:
        body = request.json or {}
        text = body.get("input", {}).get("text")
        config = body.get("audioConfig", {})
        if not text or not body.get("voice", {}).get("languageCode"):
            raise APIFailure(400, "input.text and voice.languageCode are required")
        if config.get("audioEncoding") != "LINEAR16":
            raise APIFailure(400, "this fake speaks LINEAR16 only")
        rate = config.get("sampleRateHertz") or 24000
        wav = wav_bytes(_espeak().synthesize(text, "en", rate), rate)
        content = base64.b64encode(wav).decode()
        return 200, "application/json", json.dumps({"audioContent": content}).encode()
