"""A speech API stand-in for load runs: Google Cloud Speech-to-Text / Text-to-Speech v1 and the
OpenAI audio API, as `calls/voice/google_cloud.py` and `calls/voice/openai_api.py` call them,
answering the load test's own utterances with their known transcripts.

It is not a speech engine and it does not make the server's figures better than a cloud would:
it waits as a cloud API waits, and fails as one fails.

- Recognition: the Locust callers send the recorded utterances of `make_utterances.py`, frame by
  frame; the server cuts an utterance out of the stream on 20 ms frame boundaries and uploads
  it. Each 20 ms frame of each recorded utterance is indexed by its hash, and an upload is
  answered with the transcript whose frames it holds most (silence frames count for none).
- Synthesis: a tone as long as the text would take to say (~14 characters a second), at the
  asked rate, so the caller hears the reply for as long as a voice would speak it.
- Latency: every answer waits a time drawn from a log-normal distribution given by its median
  and its 95th percentile (`Latency`); text-to-speech waits its time to first byte, then sends
  the audio in chunks at `--tts-speed` times real time.
- Faults: a share of requests answers an HTTP error (503, 500 or 429, as Google and OpenAI do
  when overloaded) and a share never answers in time (held for `--hold` seconds, past the
  client's time-out). `--stall-after S` makes every request hang from S seconds on (a stalled
  provider).

    python loadtests/speech_standin.py --utterances loadtests/results/utterances --port 8765

Routes: /google/v1/speech:recognize, /google/v1/text:synthesize, /openai/v1/audio/transcriptions,
/openai/v1/audio/speech; GET /standin/stats gives the counts (JSON). Any API key is accepted.
The distributions and where their figures come from: docs/testing.md, "Remote speech engines".
"""

import argparse
import asyncio
import base64
import hashlib
import json
import math
import random
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FRAME_MS = 20
OPENAI_PCM_RATE = 24000
CHARS_PER_SECOND = 14.0  # a voice reading a reply aloud (~170 words a minute)
Z95 = 1.6448536269514722  # the standard normal's 95th percentile
ERROR_STATUSES = (503, 500, 429)


@dataclass(frozen=True)
class Latency:
    """A log-normal wait: half the requests take less than `median_ms`, 95 % less than `p95_ms`.

    A log-normal is the usual shape of a network service's latency: most answers near the
    median and a long tail to the right (its 99th percentile is median * (p95/median)**1.41).
    """

    median_ms: float
    p95_ms: float
    max_ms: float = 20_000.0

    @property
    def sigma(self) -> float:
        if self.p95_ms <= self.median_ms:
            return 0.0
        return math.log(self.p95_ms / self.median_ms) / Z95

    def sample(self, rng: random.Random) -> float:
        """Seconds to wait."""
        if self.median_ms <= 0:
            return 0.0
        ms = self.median_ms * math.exp(self.sigma * rng.gauss(0.0, 1.0))
        return min(ms, self.max_ms) / 1000

    def percentile_ms(self, fraction: float) -> float:
        from statistics import NormalDist

        return self.median_ms * math.exp(self.sigma * NormalDist().inv_cdf(fraction))


@dataclass(frozen=True)
class Faults:
    """What share of requests fails: an HTTP error at once (after the wait), or no answer."""

    error_rate: float = 0.0
    timeout_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.error_rate < 0 or self.timeout_rate < 0 or self.error_rate + self.timeout_rate > 1:
            raise ValueError("error and time-out rates are shares between 0 and 1")

    def draw(self, rng: random.Random) -> str:
        """ "" (answer), "error" or "timeout"."""
        roll = rng.random()
        if roll < self.error_rate:
            return "error"
        if roll < self.error_rate + self.timeout_rate:
            return "timeout"
        return ""


class Transcripts:
    """The load test's utterances by the hashes of their 20 ms frames."""

    def __init__(self) -> None:
        self._frames: dict[bytes, str | None] = {}  # None: a frame several utterances share
        self.texts: set[str] = set()

    @staticmethod
    def _frames_of(pcm: bytes, rate: int):
        size = rate * FRAME_MS // 1000 * 2
        for start in range(0, len(pcm) - len(pcm) % size, size):
            frame = pcm[start : start + size]
            if frame.count(0) < len(frame):  # digital silence says nothing
                yield hashlib.blake2b(frame, digest_size=12).digest()

    def add(self, pcm: bytes, rate: int, text: str) -> None:
        # As the caller sends it: the last frame padded with silence to a whole frame.
        size = rate * FRAME_MS // 1000 * 2
        if len(pcm) % size:
            pcm = pcm + bytes(size - len(pcm) % size)
        self.texts.add(text)
        for digest in self._frames_of(pcm, rate):
            known = self._frames.get(digest, text)
            self._frames[digest] = text if known == text else None

    @classmethod
    def from_directory(cls, directory: Path) -> "Transcripts":
        """Every recorded utterance `make_utterances.py` listed in utterances.json."""
        index = json.loads((directory / "utterances.json").read_text())
        transcripts = cls()
        for name, text in index["transcripts"].items():
            rate = int(name.split("-", 1)[0])
            transcripts.add((directory / name).read_bytes(), rate, text)
        return transcripts

    def recognise(self, pcm: bytes, rate: int) -> str:
        votes = Counter(
            text for d in self._frames_of(pcm, rate) if (text := self._frames.get(d)) is not None
        )
        if not votes:
            return ""
        text, count = votes.most_common(1)[0]
        return text if count >= 3 else ""


def tone(seconds: float, rate: int) -> bytes:
    """A voice-loud 300 Hz tone: what the caller hears as the bot speaking."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype("<i2").tobytes()


def speech_seconds(text: str, chars_per_second: float = CHARS_PER_SECOND) -> float:
    return max(0.4, len(text) / chars_per_second)


def wav(pcm: bytes, rate: int) -> bytes:
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


def pcm_of_wav(data: bytes) -> tuple[bytes, int]:
    """The samples and rate of a 16-bit mono WAV (the engines send nothing else)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, rate = 12, 0
    while position + 8 <= len(data):
        kind, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        if kind == b"fmt ":
            rate = struct.unpack_from("<I", data, position + 12)[0]
        elif kind == b"data":
            return data[position + 8 : position + 8 + size], rate
        position += 8 + size + size % 2
    raise ValueError("no data chunk")


def multipart_file(body: bytes, content_type: str) -> bytes:
    """The uploaded file's bytes out of a multipart/form-data body."""
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b"filename=" in head:
            return content.removesuffix(b"\r\n")
    raise ValueError("no file in the upload")


class APIFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class StandIn:
    transcripts: Transcripts
    stt_latency: Latency = field(default_factory=lambda: Latency(300, 800))
    tts_first_byte: Latency = field(default_factory=lambda: Latency(250, 700))
    faults: Faults = field(default_factory=Faults)
    tts_speed: float = 20.0  # audio sent at this many times real time after the first byte
    hold: float = 30.0  # seconds a "timed out" request is held
    stall_after: float | None = None  # seconds from start after which every request hangs
    chars_per_second: float = CHARS_PER_SECOND  # how fast the synthesised "voice" speaks
    seed: int | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.started = time.monotonic()
        self.stats: Counter[str] = Counter()
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task] = set()

    # --- Routes ---------------------------------------------------------------------------------

    def routes(self):
        return {
            "/google/v1/speech:recognize": ("stt", self.google_recognize),
            "/google/v1/text:synthesize": ("tts", self.google_synthesize),
            "/openai/v1/audio/transcriptions": ("stt", self.openai_transcribe),
            "/openai/v1/audio/speech": ("tts", self.openai_speech),
        }

    def google_recognize(self, body: bytes, content_type: str) -> tuple[str, bytes, float]:
        request = json.loads(body)
        config = request.get("config", {})
        if config.get("encoding") != "LINEAR16" or not config.get("sampleRateHertz"):
            raise APIFailure(400, "Invalid recognition 'config': bad encoding or sample rate.")
        pcm = base64.b64decode(request.get("audio", {}).get("content", ""))
        text = self._recognise(pcm, int(config["sampleRateHertz"]))
        alternatives = [{"alternatives": [{"transcript": text, "confidence": 0.93}]}]
        answer = {"results": alternatives if text else []}
        return "application/json", json.dumps(answer).encode(), 0.0

    def openai_transcribe(self, body: bytes, content_type: str) -> tuple[str, bytes, float]:
        try:
            pcm, rate = pcm_of_wav(multipart_file(body, content_type))
        except (ValueError, IndexError, struct.error) as error:
            raise APIFailure(400, f"Invalid file format: {error}") from error
        return "application/json", json.dumps({"text": self._recognise(pcm, rate)}).encode(), 0.0

    def google_synthesize(self, body: bytes, content_type: str) -> tuple[str, bytes, float]:
        request = json.loads(body)
        text = request.get("input", {}).get("text", "")
        rate = int(request.get("audioConfig", {}).get("sampleRateHertz") or 24000)
        if not text:
            raise APIFailure(400, "input.text is required")
        seconds = speech_seconds(text, self.chars_per_second)
        content = base64.b64encode(wav(tone(seconds, rate), rate)).decode()
        return "application/json", json.dumps({"audioContent": content}).encode(), seconds

    def openai_speech(self, body: bytes, content_type: str) -> tuple[str, bytes, float]:
        request = json.loads(body)
        if not request.get("input") or not request.get("model"):
            raise APIFailure(400, "model and input are required")
        seconds = speech_seconds(request["input"], self.chars_per_second)
        pcm = tone(seconds, OPENAI_PCM_RATE)
        if request.get("response_format") == "wav":
            return "audio/wav", wav(pcm, OPENAI_PCM_RATE), seconds
        return "audio/pcm", pcm, seconds

    def _recognise(self, pcm: bytes, rate: int) -> str:
        text = self.transcripts.recognise(pcm, rate)
        self.stats["recognised" if text else "not_recognised"] += 1
        return text

    # --- HTTP -----------------------------------------------------------------------------------

    def stalled(self) -> bool:
        return self.stall_after is not None and time.monotonic() - self.started >= self.stall_after

    async def answer(
        self, path: str, body: bytes, content_type: str
    ) -> tuple[int, str, bytes, float]:
        """(status, content type, body, seconds to spread the body over) after the wait."""
        route = self.routes().get(path)
        if route is None:
            return 404, "application/json", b'{"error": {"message": "no such route"}}', 0.0
        kind, handler = route
        self.stats[f"{kind}_requests"] += 1
        fault = "timeout" if self.stalled() else self.faults.draw(self.rng)
        if fault == "timeout":
            self.stats[f"{kind}_timeouts"] += 1
            await asyncio.sleep(self.hold)  # the client has given up long before
        wait = (self.stt_latency if kind == "stt" else self.tts_first_byte).sample(self.rng)
        await asyncio.sleep(wait)
        if fault == "error":
            self.stats[f"{kind}_errors"] += 1
            status = self.rng.choice(ERROR_STATUSES)
            message = {
                "error": {"code": status, "message": "The service is currently unavailable."}
            }
            return status, "application/json", json.dumps(message).encode(), 0.0
        try:
            kind_of_body, payload, seconds = handler(body, content_type)
        except (APIFailure, ValueError, KeyError) as error:
            status = getattr(error, "status", 400)
            return (
                status,
                "application/json",
                json.dumps({"error": {"message": str(error)}}).encode(),
                0.0,
            )
        # Text-to-speech: after the first byte the audio comes at tts_speed times real time.
        spread = seconds / self.tts_speed if self.tts_speed > 0 else 0.0
        self.stats[f"{kind}_answered"] += 1
        return 200, kind_of_body, payload, spread

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                if method == "GET" and path == "/standin/stats":
                    status, kind, payload, spread = 200, "application/json", self.stats_json(), 0.0
                else:
                    status, kind, payload, spread = await self.answer(
                        path, body, headers.get("content-type", "")
                    )
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                )
                await self._send(writer, payload, spread)
                if headers.get("connection", "").lower() == "close":
                    break
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            ValueError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, payload: bytes, spread: float) -> None:
        chunks = max(1, min(20, int(spread / 0.05)))
        size = -(-len(payload) // chunks)
        for index in range(chunks):
            writer.write(payload[index * size : (index + 1) * size])
            await writer.drain()
            if index < chunks - 1:
                await asyncio.sleep(spread / chunks)

    def stats_json(self) -> bytes:
        figures = dict(self.stats)
        figures["stalled"] = self.stalled()
        return json.dumps(figures).encode()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.started = time.monotonic()
        self._server = await asyncio.start_server(self._serve, host, port, backlog=1024)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, help="write the port here once listening")
    parser.add_argument("--stt-median-ms", type=float, default=300)
    parser.add_argument("--stt-p95-ms", type=float, default=800)
    parser.add_argument("--tts-first-byte-median-ms", type=float, default=250)
    parser.add_argument("--tts-first-byte-p95-ms", type=float, default=700)
    parser.add_argument("--tts-speed", type=float, default=20.0)
    parser.add_argument("--error-rate", type=float, default=0.015)
    parser.add_argument("--timeout-rate", type=float, default=0.005)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--stall-after", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--chars-per-second", type=float, default=CHARS_PER_SECOND)
    args = parser.parse_args(argv)
    standin = StandIn(
        Transcripts.from_directory(args.utterances),
        stt_latency=Latency(args.stt_median_ms, args.stt_p95_ms),
        tts_first_byte=Latency(args.tts_first_byte_median_ms, args.tts_first_byte_p95_ms),
        faults=Faults(args.error_rate, args.timeout_rate),
        tts_speed=args.tts_speed,
        hold=args.hold,
        stall_after=args.stall_after,
        seed=args.seed,
        chars_per_second=args.chars_per_second,
    )

    async def serve() -> None:
        port = await standin.start(args.host, args.port)
        if args.port_file:
            args.port_file.write_text(str(port))
        print(f"speech stand-in on http://{args.host}:{port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
