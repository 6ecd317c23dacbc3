"""Locust load test: callers who phone the shop over AudioSocket, as Asterisk connects them.

Each simulated caller places a real call: it sends the call's UUID, then audio in 20 ms frames at
real-time pace for the whole call (silence between its utterances, as a phone line does), says
recorded utterances one after another, waits for the bot's answer to each and hangs up. Sockets
are plain blocking sockets, which Locust's gevent makes cooperative: a sender greenlet paces the
frames against a monotonic clock and a reader greenlet takes in the bot's audio.

Reported to Locust (request type AUDIOSOCKET):
- "turn": time from the end of the caller's speech to the first audible reply frame;
- "greeting": time from connecting to the first audible frame of the greeting;
- "call": the whole call's duration (response length = frames received).
A turn without an answer, a call refused or cut off is an error. A second user class (one
instance, HTTP) checks the web process's /healthz every 2 s.

At the end it writes `<LOAD_REPORT>.json` with frames sent and received, the jitter of the bot's
frames as they arrived, the server's CPU and memory per active call (when LOAD_SERVER_PID names
the server), the NFR verdict, and sets Locust's exit code to 1 when the NFR is missed.

Settings (environment): LOAD_AUDIOSOCKET=host:port, LOAD_UTTERANCES (a directory made by
make_utterances.py), LOAD_SAMPLE_RATE (8000 or 16000), LOAD_NFR_P95_MS, LOAD_NFR_MAX_ERROR_RATE,
LOAD_SERVER_PID, LOAD_REPORT, LOAD_CALL_SPREAD (seconds: callers' first calls start at random
within it). `run_load_test.sh` sets them all for a profile.

LOAD_DIALOGUE=orders (the remote-engine profiles, ENGINES=remote): each call is one of the
ordering dialogues of make_utterances.py (size, choice, name, phone, pickup, yes, no thanks), and
a call the bot ends early after answering (an apology and an operator route when a speech
request failed) is the call's end, not an error: remote_report.py then checks in the database
that every such call was routed to an operator.

With LOAD_VIA=asterisk (and LOAD_ASTERISK_DIR, a running Asterisk that `run_load_test.sh`
starts), each call goes through a real PBX: the caller listens on a loopback port, drops a call
file whose bot leg enters the project dialplan (`[tire-shop-inbound]`, or the wideband context
at 16 kHz) and whose caller leg connects back to it over AudioSocket (`[load-caller]`). The
caller then hears and speaks exactly as it would on a direct call, but every frame has crossed
Asterisk's channels and bridge, and the bot got the caller's number through the dialplan.
"""

import json
import os
import random
import socket
import statistics
import time
import uuid
from pathlib import Path

import gevent
from bench_server import percentile
from gevent.event import Event
from locust import HttpUser, User, between, constant, events, task

from calls.audiosocket.protocol import (
    Decoder,
    Kind,
    encode_audio,
    encode_hangup,
    encode_uuid,
)
from calls.voice.audio import peak, silence, split_frames
from tests.helpers.audiosocket_client import FRAME_SECONDS, SILENCE_PEAK

REPLY_TIMEOUT = 15.0  # a turn with no audible answer within this is unanswered
QUIET_TO_END_REPLY = 1.0  # the bot's reply is over after this long without an audible frame
MAX_REPLY = 45.0

AUDIOSOCKET = os.environ.get("LOAD_AUDIOSOCKET", "127.0.0.1:9092")
UTTERANCES = Path(
    os.environ.get("LOAD_UTTERANCES", Path(__file__).parent / "results" / "utterances")
)
SAMPLE_RATE = int(os.environ.get("LOAD_SAMPLE_RATE", "8000"))
CALL_SPREAD = float(os.environ.get("LOAD_CALL_SPREAD", "10"))  # seconds
VIA_ASTERISK = os.environ.get("LOAD_VIA", "direct") == "asterisk"
ASTERISK_DIR = Path(os.environ.get("LOAD_ASTERISK_DIR", "."))
ASTERISK_ANSWER_TIMEOUT = 20.0  # seconds for Asterisk to set the call up and connect back
CODECS = {8000: "slin", 16000: "slin16"}  # the caller leg's AudioSocket channel, c(...)
ORDERS = os.environ.get("LOAD_DIALOGUE", "search") == "orders"
REPORT = os.environ.get("LOAD_REPORT", str(Path(__file__).parent / "results" / "locust"))


class Figures:
    """What Locust's request statistics do not hold: frames, jitter, the server's resources."""

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.ended_by_bot = 0  # LOAD_DIALOGUE=orders: the bot ended the call before the script
        self.frames_sent = 0
        self.frames_received = 0
        self.late_sends = 0
        self.jitter_ms: list[float] = []  # per bot frame: |gap between arrivals - 20 ms|
        self.samples: list[tuple[int, float, float]] = []  # (active calls, CPU %, RSS MB)
        self.baseline_rss_mb: float | None = None


figures = Figures()


def load_utterances(directory: Path, rate: int) -> list[bytes]:
    index = directory / "utterances.json"
    if not index.exists():
        raise SystemExit(
            f"no utterances in {directory}: run `python loadtests/make_utterances.py` first"
        )
    names = json.loads(index.read_text())[str(rate)]
    return [(directory / name).read_bytes() for name in names]


def load_order_dialogues(directory: Path, rate: int) -> list[list[bytes]]:
    dialogues = json.loads((directory / "utterances.json").read_text())["order_dialogues"]
    return [[(directory / name).read_bytes() for name in names] for names in dialogues[str(rate)]]


class Call:
    """One AudioSocket call: the line (sender and reader greenlets) and what was heard on it."""

    def __init__(self, address: tuple[str, int], rate: int) -> None:
        self.rate = rate
        self.silence = encode_audio(silence(rate), rate)
        if VIA_ASTERISK:
            self.sock = call_through_asterisk(rate)
        else:
            self.sock = socket.create_connection(address, timeout=5)
            self.sock.sendall(encode_uuid(uuid.uuid4()))
        self.sock.settimeout(None)
        self.outgoing: list[bytes] = []
        self.speech_sent = Event()
        self.closed = False
        self.hung_up_by_server = False
        self.frames_sent = 0
        self.frames_received = 0
        self.last_arrival: float | None = None
        self.jitter_ms: list[float] = []
        self.loud_at: list[float] = []  # arrival times of audible frames
        self.error: str = ""
        self._greenlets = [gevent.spawn(self._send), gevent.spawn(self._read)]

    def say(self, pcm: bytes) -> float:
        """Send an utterance in real time; returns when its last frame went out."""
        self.speech_sent.clear()
        self.outgoing = [encode_audio(frame, self.rate) for frame in split_frames(pcm, self.rate)]
        self.speech_sent.wait(len(self.outgoing) * FRAME_SECONDS + 5)
        return time.monotonic()

    def first_audio_after(self, moment: float, timeout: float) -> float | None:
        deadline = moment + timeout
        while time.monotonic() < deadline and not self.closed:
            later = [t for t in self.loud_at[-50:] if t > moment]
            if later:
                return later[0]
            gevent.sleep(0.01)
        later = [t for t in self.loud_at[-50:] if t > moment]
        return later[0] if later else None

    def wait_quiet(self, quiet: float = QUIET_TO_END_REPLY, limit: float = MAX_REPLY) -> None:
        """Wait until the bot has been silent for `quiet` seconds (its reply is over)."""
        start = time.monotonic()
        while not self.closed and time.monotonic() - start < limit:
            last = self.loud_at[-1] if self.loud_at else start
            if time.monotonic() - max(last, start) >= quiet:
                return
            gevent.sleep(0.05)

    def hangup(self) -> None:
        if not self.closed:
            try:
                self.sock.sendall(encode_hangup())
            except OSError:
                pass
        self.close()

    def close(self) -> None:
        self.closed = True
        gevent.killall(self._greenlets, block=False)
        self.sock.close()

    def _send(self) -> None:
        next_at = time.monotonic()
        try:
            while not self.closed:
                if self.outgoing:
                    packet = self.outgoing.pop(0)
                    if not self.outgoing:
                        self.speech_sent.set()
                else:
                    packet = self.silence
                self.sock.sendall(packet)
                self.frames_sent += 1
                next_at += FRAME_SECONDS
                delay = next_at - time.monotonic()
                if delay > 0:
                    gevent.sleep(delay)
                else:
                    figures.late_sends += 1
                    if delay < -0.2:  # far behind (a stalled client): do not burst to catch up
                        next_at = time.monotonic()
        except OSError as error:
            self._lost(f"send failed: {error}")

    def _read(self) -> None:
        decoder = Decoder()
        try:
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    self._lost("the server closed the connection")
                    return
                for packet in decoder.feed(data):
                    if packet.kind == Kind.HANGUP:
                        self.hung_up_by_server = True
                        self._lost("the server hung up")
                        return
                    if not packet.is_audio:
                        continue
                    arrived = time.monotonic()
                    self.frames_received += 1
                    if peak(packet.payload) >= SILENCE_PEAK:
                        if self.loud_at and arrived - self.loud_at[-1] < 0.1:
                            gap = (arrived - self.last_arrival) * 1000
                            self.jitter_ms.append(abs(gap - FRAME_SECONDS * 1000))
                        self.loud_at.append(arrived)
                    self.last_arrival = arrived
        except OSError as error:
            self._lost(f"receive failed: {error}")

    def _lost(self, why: str) -> None:
        if not self.closed:
            self.error = self.error or why
        self.closed = True
        self.speech_sent.set()


def call_through_asterisk(rate: int) -> socket.socket:
    """Place a call through Asterisk and return the caller leg's AudioSocket connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(ASTERISK_ANSWER_TIMEOUT)
    port = listener.getsockname()[1]
    tag = uuid.uuid4()
    bot = "bot-project-wideband" if rate == 16000 else "bot-project"
    spool = ASTERISK_DIR / "var" / "spool" / "asterisk"
    draft = spool / "tmp" / f"{tag}.call"
    draft.write_text(
        f"Channel: Local/s@{bot}\nContext: load-caller\nExtension: s\nPriority: 1\n"
        f"MaxRetries: 0\nWaitTime: 30\nSetvar: CALL_UUID={tag}\n"
        f"Setvar: CALLER_TARGET=127.0.0.1:{port}\nSetvar: CALLER_CODEC={CODECS[rate]}\n"
    )
    draft.rename(spool / "outgoing" / f"{tag}.call")  # atomic: pbx_spool takes it whole
    try:
        connection, _peer = listener.accept()
    except TimeoutError as error:
        raise OSError(
            f"Asterisk did not connect the call within {ASTERISK_ANSWER_TIMEOUT} s"
        ) from error
    finally:
        listener.close()
    return connection


class Caller(User):
    """A caller who asks for tires, says no thanks and hangs up (or is hung up on)."""

    wait_time = between(1, 4)
    utterances: list[bytes] = []
    dialogues: list[list[bytes]] = []  # LOAD_DIALOGUE=orders

    def on_start(self) -> None:
        self.rng = random.Random()
        host, port = AUDIOSOCKET.rsplit(":", 1)
        self.address = (host, int(port))
        # Callers do not ring in step: each first call comes at random within the spread.
        gevent.sleep(self.rng.uniform(0, CALL_SPREAD))

    def _fire(self, name: str, started: float, elapsed_ms: float, length: int = 0, error=None):
        self.environment.events.request.fire(
            request_type="AUDIOSOCKET",
            name=name,
            start_time=started,
            response_time=elapsed_ms,
            response_length=length,
            exception=error,
            context={},
        )

    @task
    def place_call(self) -> None:
        started_wall, started = time.time(), time.monotonic()
        try:
            call = Call(self.address, SAMPLE_RATE)
        except OSError as error:
            self._fire("call", started_wall, (time.monotonic() - started) * 1000, error=error)
            return
        figures.calls += 1
        figures.active += 1
        failure: Exception | None = None
        try:
            greeting = call.first_audio_after(started, REPLY_TIMEOUT)
            if greeting is None:
                raise RuntimeError(call.error or "no greeting")
            self._fire("greeting", started_wall, (greeting - started) * 1000)
            call.wait_quiet()
            script = self.rng.choice(self.dialogues) if ORDERS else self.utterances
            for pcm in script:
                gevent.sleep(self.rng.uniform(0.3, 1.2))  # a caller's pause before answering
                if call.closed and ORDERS and call.hung_up_by_server:
                    figures.ended_by_bot += 1  # after its last answer: an operator route
                    break
                if call.closed:
                    raise RuntimeError(call.error or "the call ended")
                turn_wall = time.time()
                spoken = call.say(pcm)
                answer = call.first_audio_after(spoken, REPLY_TIMEOUT)
                if answer is None:
                    failure = RuntimeError(call.error or f"no answer within {REPLY_TIMEOUT} s")
                    self._fire("turn", turn_wall, REPLY_TIMEOUT * 1000, error=failure)
                    break
                self._fire("turn", turn_wall, (answer - spoken) * 1000)
                call.wait_quiet()
        except Exception as error:  # what went wrong is the call's error in the report
            failure = error
        finally:
            call.hangup()
            figures.active -= 1
            figures.frames_sent += call.frames_sent
            figures.frames_received += call.frames_received
            figures.jitter_ms.extend(call.jitter_ms)
        self._fire(
            "call",
            started_wall,
            (time.monotonic() - started) * 1000,
            length=call.frames_received,
            error=failure,
        )


class WebHealth(HttpUser):
    """The second task: the web process (Daphne) answers /healthz while the calls go on."""

    fixed_count = 1
    wait_time = constant(2)

    @task
    def check_health(self) -> None:
        with self.client.get("/healthz", name="/healthz", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")


@events.init.add_listener
def _load_utterances(environment, **_kwargs) -> None:
    Caller.utterances = load_utterances(UTTERANCES, SAMPLE_RATE)
    if ORDERS:
        Caller.dialogues = load_order_dialogues(UTTERANCES, SAMPLE_RATE)


@events.test_start.add_listener
def _watch_server(environment, **_kwargs) -> None:
    pid = os.environ.get("LOAD_SERVER_PID")
    if not pid:
        return
    import psutil

    process = psutil.Process(int(pid))
    # With --workers N the calls are served by the children: CPU and RSS are summed over all.
    family = [process, *process.children(recursive=True)]
    figures.baseline_rss_mb = sum(p.memory_info().rss for p in family) / 2**20
    for member in family:
        member.cpu_percent()

    def sample() -> None:
        while True:
            gevent.sleep(1)
            try:
                cpu = sum(p.cpu_percent() for p in family)
                rss = sum(p.memory_info().rss for p in family) / 2**20
            except psutil.Error:
                return
            figures.samples.append((figures.active, cpu, rss))

    gevent.spawn(sample)


def _jitter_percentile(fraction: float) -> float:
    return round(percentile(figures.jitter_ms, fraction), 1) if figures.jitter_ms else 0.0


def summary(environment) -> dict:
    stats = environment.stats
    turn = stats.get("turn", "AUDIOSOCKET")
    call = stats.get("call", "AUDIOSOCKET")
    total = stats.total
    busy = [(a, cpu, rss) for a, cpu, rss in figures.samples if a > 0]
    resources = {}
    if busy:
        active = statistics.fmean(a for a, _, _ in busy)
        peak_active = max(a for a, _, _ in busy)
        peak_rss = max(rss for _, _, rss in busy)
        resources = {
            "mean_active_calls": round(active, 1),
            "peak_active_calls": peak_active,
            "server_cpu_percent_mean": round(statistics.fmean(c for _, c, _ in busy), 1),
            "server_cpu_percent_per_call": round(statistics.fmean(c / a for a, c, _ in busy), 2),
            "server_rss_mb_baseline": round(figures.baseline_rss_mb or 0, 1),
            "server_rss_mb_peak": round(peak_rss, 1),
            "server_rss_mb_per_call": round(
                (peak_rss - (figures.baseline_rss_mb or 0)) / peak_active, 2
            ),
        }
    return {
        "calls": call.num_requests,
        "calls_failed": call.num_failures,
        "call_duration_s_median": round(call.median_response_time / 1000, 1),
        "turns": turn.num_requests,
        "turns_failed": turn.num_failures,
        "turn_latency_ms": {
            f"p{int(p * 100)}": round(turn.get_response_time_percentile(p) or 0)
            for p in (0.5, 0.95, 0.99)
        },
        "requests": total.num_requests,
        "errors": total.num_failures,
        "error_rate": round(total.fail_ratio, 4),
        "frames_sent": figures.frames_sent,
        "frames_received": figures.frames_received,
        "client_late_sends": figures.late_sends,
        "calls_ended_by_bot_early": figures.ended_by_bot,
        "reply_frame_jitter_ms": {
            "p50": _jitter_percentile(0.5),
            "p95": _jitter_percentile(0.95),
            "p99": _jitter_percentile(0.99),
        },
        **resources,
    }


@events.quitting.add_listener
def _check_nfr(environment, **_kwargs) -> None:
    report = summary(environment)
    missed = []
    p95_limit = os.environ.get("LOAD_NFR_P95_MS")
    error_limit = os.environ.get("LOAD_NFR_MAX_ERROR_RATE")
    if report["turns"] == 0:
        missed.append("no turn was completed")
    if p95_limit and report["turn_latency_ms"]["p95"] >= float(p95_limit):
        missed.append(f"turn latency p95 {report['turn_latency_ms']['p95']} ms >= {p95_limit} ms")
    if error_limit is not None and report["error_rate"] > float(error_limit):
        missed.append(f"error rate {report['error_rate']:.2%} > {float(error_limit):.2%}")
    report["nfr"] = {
        "turn_latency_p95_ms_below": float(p95_limit) if p95_limit else None,
        "max_error_rate": float(error_limit) if error_limit is not None else None,
        "missed": missed,
    }
    Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{REPORT}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    # The verdict is the NFR's alone (Locust would otherwise exit 1 on any failed request, which
    # the stress and production profiles report rather than judge).
    environment.process_exit_code = 1 if missed else 0
    if missed:
        print("NFR MISSED: " + "; ".join(missed))
    elif p95_limit or error_limit is not None:
        print("NFR met")
    else:
        print("no NFR for this profile: figures reported only")
