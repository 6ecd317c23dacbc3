"""Long-running fuzzer of the AudioSocket server and codec: hostile bytes never crash or leak.

Two modes run side by side for `--minutes`:

- network: many connections at once to a real `run_audiosocket` (started here on a throw-away
  SQLite database, or `--host/--port` of one already running, `--pid` to count its sockets),
  each sending a seeded random byte stream: raw random bytes, or a valid call (UUID, audio,
  DTMF, error, hang-up) mutated (flipped bytes, lying lengths, unknown kinds, huge lengths,
  truncation, inserted garbage), cut into random pieces, then closed abruptly (RST), closed,
  half-closed, or left for the server to end.
- codec: the pure codec in-process (a thread): random and mutated streams fed in random splits
  must decode or raise ProtocolError only, never buffer more than one packet, and valid streams
  must round-trip however they are split.

Every `--check-every` seconds it places a good call (UUID, then 20 ms silence frames) that must
hear the greeting, then lets the fuzz connections finish and checks that the server's sockets on
the port drop back to none. It prints a summary as text and JSON and exits non-zero on a server
crash, a leaked connection, a failed good call or a codec fault.

    python loadtests/fuzz_audiosocket.py --minutes 10
"""

import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field

import psutil
from bench_server import start_benchmark_server

from calls.audiosocket.protocol import (
    HEADER_SIZE,
    RATE_BY_AUDIO_KIND,
    Decoder,
    Kind,
    Packet,
    ProtocolError,
    encode,
    encode_audio,
    encode_hangup,
    encode_uuid,
)

MAX_PAYLOAD = 16 * 1024  # the server's default --max-payload
DTMF = b"0123456789*#ABCD"
LOUD_PEAK = 64


@dataclass
class Summary:
    seed: int
    duration_s: float = 0.0
    network_inputs: int = 0
    network_bytes: int = 0
    connections: int = 0
    connect_failures: int = 0
    server_kept_open: int = 0
    slow_loris_connections: int = 0
    slow_loris_held: int = 0
    codec_inputs: int = 0
    codec_bytes: int = 0
    codec_faults: int = 0
    server_crashes: int = 0
    leak_checks: int = 0
    leaked_connections: int = 0
    good_call_checks_passed: int = 0
    good_call_checks_failed: int = 0
    good_call_first_frame_s_max: float = 0.0
    server_errors_logged: int = 0
    failures: list[str] = field(default_factory=list)


# --- Inputs ------------------------------------------------------------------------------------


def _audio_payload(rng: random.Random, rate: int) -> bytes:
    size = rate // 50 * 2
    choice = rng.random()
    if choice < 0.6:
        return bytes(size)  # silence: keeps the server's speech recogniser idle
    if choice < 0.9:
        # Quiet noise, below the voice detector's interest most of the time.
        return struct.pack(f"<{size // 2}h", *(rng.randint(-40, 40) for _ in range(size // 2)))
    return rng.randbytes(size)


def valid_stream(rng: random.Random) -> bytes:
    """A call as Asterisk would send it: UUID first, then packets of the kinds it uses."""
    rate = rng.choice([8000, 8000, 16000, *RATE_BY_AUDIO_KIND.values()])
    parts = [encode_uuid(uuid.uuid4())]
    for _ in range(rng.randint(0, 30)):
        pick = rng.random()
        if pick < 0.8:
            parts.append(encode_audio(_audio_payload(rng, rate), rate))
        elif pick < 0.9:
            parts.append(encode(Kind.DTMF, bytes([rng.choice(DTMF)])))
        elif pick < 0.95:
            parts.append(encode(Kind.ERROR, rng.choice([b"", b"\x01", b"\x02", b"\x04", b"\x09"])))
        elif pick < 0.98:
            parts.append(encode_uuid(uuid.uuid4()))  # a second UUID mid-call
        else:
            parts.append(encode_hangup())
    return b"".join(parts)


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip bits
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:  # a header whose length lies (short, long or huge) with a short payload
            kind = rng.choice([0x00, 0x01, 0x03, 0x10, 0x12, 0xFF, rng.randrange(256)])
            length = rng.choice([0, 1, 15, 17, 321, MAX_PAYLOAD, MAX_PAYLOAD + 1, 0xFFFF])
            data[at:at] = (
                bytes([kind])
                + length.to_bytes(2, "big")
                + rng.randbytes(rng.randrange(min(length, 64) + 1))
            )
        elif op == 2:  # unknown or different kind byte
            if data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 3:  # truncate
            del data[at:]
        elif op == 4:  # insert garbage
            data[at:at] = rng.randbytes(rng.randrange(1, 64))
        elif op == 5:  # delete a slice
            del data[at : at + rng.randrange(1, 32)]
        elif op == 6:  # duplicate a slice
            data[at:at] = data[at : at + rng.randrange(1, 400)]
        elif op == 7:  # an oversize packet, whole
            size = rng.randrange(MAX_PAYLOAD + 1, 0xFFFF + 1) & ~1
            data[at:at] = encode_header(0x10, size) + bytes(size)
        else:  # a header split off at the very end
            data += bytes([rng.randrange(256)])[: rng.randrange(2)]
    return bytes(data)


def encode_header(kind: int, size: int) -> bytes:
    return bytes([kind]) + size.to_bytes(2, "big")


def fuzz_input(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.25:
        size = rng.choice([0, 1, 2, 3, 4, 19, rng.randrange(4096), rng.randrange(70000)])
        return rng.randbytes(size)
    if pick < 0.85:
        return mutate(rng, valid_stream(rng))
    return valid_stream(rng) + rng.randbytes(rng.randrange(1, 256))


def random_splits(rng: random.Random, data: bytes) -> list[bytes]:
    if not data:
        return []
    if rng.random() < 0.3:
        return [data]
    cuts = sorted(rng.sample(range(1, len(data) + 1), k=min(len(data), rng.randint(1, 12))))
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = cut
    if start < len(data):
        pieces.append(data[start:])
    return pieces


# --- Codec fuzzing (in-process) ----------------------------------------------------------------


def fuzz_codec(rng: random.Random, summary: Summary, stop: threading.Event) -> None:
    while not stop.is_set():
        for _ in range(50):
            _codec_case(rng, summary)
        time.sleep(0.002)  # let the network side's event loop run


def _codec_case(rng: random.Random, summary: Summary) -> None:
    max_payload = rng.choice([1, 2, 16, 320, MAX_PAYLOAD, 0xFFFF])
    valid = rng.random() < 0.3
    stream = valid_stream(rng) if valid else fuzz_input(rng)
    summary.codec_inputs += 1
    summary.codec_bytes += len(stream)
    decoder = Decoder(max_payload=max_payload)
    decoded: list[Packet] = []
    broken = False
    try:
        for piece in random_splits(rng, stream):
            try:
                decoded += decoder.feed(piece)
            except ProtocolError as error:
                decoded += error.packets
                broken = True
                break
            if decoder.pending >= HEADER_SIZE + max_payload:
                _codec_fault(summary, f"buffered {decoder.pending} bytes (limit {max_payload})")
                return
        if broken:
            try:
                decoder.feed(b"\x00\x00\x00")
                _codec_fault(summary, "a broken decoder accepted more input")
            except ProtocolError:
                pass
        for packet in decoded:
            # Reading a decoded packet's fields may refuse, but only with ProtocolError.
            for name in ("uuid", "digit", "error_code", "sample_rate"):
                try:
                    getattr(packet, name)
                except ProtocolError:
                    pass
            encode(packet.kind, packet.payload)  # what was decoded encodes again
        if valid and max_payload >= MAX_PAYLOAD and not broken:
            whole = Decoder(max_payload=max_payload).feed(stream)
            if whole != decoded or b"".join(encode(p.kind, p.payload) for p in whole) != stream:
                _codec_fault(summary, "a valid stream did not round-trip")
        try:
            encode(rng.randrange(256), rng.randbytes(rng.choice([0, 1, 2, 16, 17, 320])))
        except ProtocolError:
            pass
    except Exception as error:
        _codec_fault(summary, f"{type(error).__name__}: {error}\n{traceback.format_exc()}")


def _codec_fault(summary: Summary, message: str) -> None:
    summary.codec_faults += 1
    if len(summary.failures) < 50:
        summary.failures.append(f"codec: {message}")


# --- Network fuzzing ---------------------------------------------------------------------------


class Target:
    """The server under fuzz: its address, and its process when we can see it."""

    def __init__(self, args) -> None:
        self.args = args
        self.server = None
        self.host, self.port, self.pid = args.host, args.port, args.pid
        if not args.host:
            self.start()

    def start(self) -> None:
        self.server = start_benchmark_server(
            "--handshake-timeout",
            str(self.args.handshake_timeout),
            "--idle-timeout",
            str(self.args.idle_timeout),
            "--max-calls",
            str(self.args.max_calls),
        )
        self.host, self.port, self.pid = self.server.host, self.server.port, self.server.process.pid

    def alive(self) -> bool:
        if self.server is not None:
            return self.server.process.poll() is None
        return self.pid is None or psutil.pid_exists(self.pid)

    def open_sockets(self) -> list[str]:
        """The server's TCP connections on the AudioSocket port, other than the listener."""
        if self.pid is None:
            return []
        process = psutil.Process(self.pid)
        found = []
        for proc in [process, *process.children(recursive=True)]:
            lister = getattr(proc, "net_connections", None) or proc.connections
            for conn in lister(kind="tcp"):
                if conn.laddr and conn.laddr.port == self.port and conn.status != "LISTEN":
                    found.append(conn.status)
        return found

    def errors_logged(self) -> int:
        if self.server is None:
            return 0
        log = self.server.log
        return log.count("Traceback")

    def log_tail(self, lines: int = 40) -> str:
        return "" if self.server is None else "".join(self.server.output[-lines:])

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


async def fuzz_connection(target: Target, rng: random.Random, summary: Summary, args) -> None:
    data = fuzz_input(rng)
    summary.network_inputs += 1
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), 10
        )
    except (OSError, TimeoutError):
        summary.connect_failures += 1
        return
    summary.connections += 1
    drain = asyncio.ensure_future(_read_until_closed(reader))
    ending = rng.choice(["abort", "close", "half-close", "wait", "wait"])
    if rng.random() < args.slow_loris_share:
        await slow_loris(reader, writer, drain, data, rng, summary, args)
        return
    try:
        for piece in random_splits(rng, data):
            writer.write(piece)
            summary.network_bytes += len(piece)
            await writer.drain()
            if rng.random() < 0.3:
                await asyncio.sleep(rng.random() * 0.05)
        if ending == "abort":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif ending == "close":
            writer.close()
        else:
            if ending == "half-close" and writer.can_write_eof():
                writer.write_eof()
            # The server must end it: handshake or idle time-out, protocol error or busy.
            limit = args.handshake_timeout + args.idle_timeout + 25
            try:
                await asyncio.wait_for(asyncio.shield(drain), limit)
            except TimeoutError:
                summary.server_kept_open += 1
                if len(summary.failures) < 50:
                    summary.failures.append(
                        f"the server kept a connection open past {limit:g} s "
                        f"after {len(data)} bytes starting {data[:24].hex()}"
                    )
    except (OSError, ConnectionError):
        pass  # the server hung up while we were still sending: that is its right
    finally:
        if not writer.is_closing():
            writer.transport.abort()
        drain.cancel()
        try:
            await drain
        except (asyncio.CancelledError, OSError):
            pass


async def slow_loris(reader, writer, drain, data: bytes, rng, summary: Summary, args) -> None:
    """Trickle the input a byte at a time, slower than a packet per handshake time-out: the
    server must hang up within the handshake time-out (and a little), however long the input."""
    summary.slow_loris_connections += 1
    every = rng.uniform(0.3, 0.8) * args.handshake_timeout
    started = time.monotonic()
    limit = args.handshake_timeout + 3
    try:
        for byte in (data or b"\x01")[:64]:
            if drain.done():
                break
            writer.write(bytes([byte]))
            summary.network_bytes += 1
            await asyncio.wait({drain}, timeout=every)
            if time.monotonic() - started > limit:
                break
        await asyncio.wait({drain}, timeout=max(0.0, limit - (time.monotonic() - started)))
    except (OSError, ConnectionError):
        pass
    finally:
        if not drain.done():
            summary.slow_loris_held += 1
            if len(summary.failures) < 50:
                summary.failures.append(
                    f"a byte-a-{every:.2f}-s trickle held its connection past {limit:g} s"
                )
        writer.transport.abort()
        drain.cancel()
        try:
            await drain
        except (asyncio.CancelledError, OSError):
            pass


async def _read_until_closed(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(65536):
            pass
    except (OSError, ConnectionError):
        pass


async def good_call(target: Target, timeout: float = 5.0) -> float | None:
    """Seconds until the first loud frame of the greeting, or None if it never came."""
    from calls.voice.audio import peak

    reader, writer = await asyncio.wait_for(asyncio.open_connection(target.host, target.port), 10)
    started = time.monotonic()
    writer.write(encode_uuid(uuid.uuid4()))

    async def speak() -> None:
        frame = encode_audio(bytes(320), 8000)
        while not writer.is_closing():
            writer.write(frame)
            await asyncio.sleep(0.02)

    speaker = asyncio.ensure_future(speak())
    decoder = Decoder()
    try:
        async with asyncio.timeout(timeout):
            while data := await reader.read(65536):
                for packet in decoder.feed(data):
                    if packet.is_audio and peak(packet.payload) >= LOUD_PEAK:
                        return time.monotonic() - started
            return None
    except (TimeoutError, OSError, ProtocolError):
        return None
    finally:
        speaker.cancel()
        if not writer.is_closing():
            writer.write(encode_hangup())
            writer.close()


async def run_network(target: Target, args, summary: Summary, rng: random.Random) -> None:
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline:
        cycle_end = min(deadline, time.monotonic() + args.check_every)
        tasks: set[asyncio.Task] = set()
        checked = False
        half = time.monotonic() + args.check_every / 2
        while time.monotonic() < cycle_end:
            while len(tasks) < args.concurrency:
                seed = rng.randrange(2**32)
                tasks.add(
                    asyncio.ensure_future(
                        fuzz_connection(target, random.Random(seed), summary, args)
                    )
                )
            _, tasks = await asyncio.wait(tasks, timeout=0.05, return_when="FIRST_COMPLETED")
            tasks = set(tasks)
            if not checked and time.monotonic() >= half:
                checked = True
                # A good call placed while the fuzz goes on is still greeted.
                await _check_good_call(target, summary)
            if not target.alive():
                break
        if tasks:
            await asyncio.wait(tasks)
        await _check_server(target, summary, args)


async def _check_good_call(target: Target, summary: Summary) -> None:
    if not target.alive():
        return
    first = await good_call(target)
    if first is None:
        summary.good_call_checks_failed += 1
        summary.failures.append("a good call was not greeted within 5 s")
    else:
        summary.good_call_checks_passed += 1
        summary.good_call_first_frame_s_max = round(
            max(summary.good_call_first_frame_s_max, first), 3
        )


async def _check_server(target: Target, summary: Summary, args) -> None:
    if not target.alive():
        summary.server_crashes += 1
        summary.failures.append("the server died:\n" + target.log_tail())
        if target.server is None:
            raise SystemExit("the server under fuzz died")
        await asyncio.to_thread(target.start)
        return
    # Every fuzz connection is closed on our side: the server's must follow within its time-outs.
    summary.leak_checks += 1
    deadline = time.monotonic() + args.handshake_timeout + args.idle_timeout + 20
    while (still := target.open_sockets()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    if still:
        summary.leaked_connections += len(still)
        summary.failures.append(f"{len(still)} server sockets left open: {sorted(set(still))}")


async def main_async(target: "Target", args, summary: Summary) -> None:
    rng = random.Random(summary.seed)
    stop = threading.Event()
    codec = threading.Thread(
        target=fuzz_codec, args=(random.Random(summary.seed + 1), summary, stop), daemon=True
    )
    started = time.monotonic()
    if args.codec:
        codec.start()
    try:
        await asyncio.sleep(1.0)  # prompts warm up
        await _check_good_call(target, summary)
        await run_network(target, args, summary, rng)
        await _check_good_call(target, summary)
    finally:
        stop.set()
        if codec.is_alive():
            codec.join(10)
        summary.duration_s = round(time.monotonic() - started, 1)
        summary.server_errors_logged = target.errors_logged()
        if summary.server_errors_logged:
            summary.failures.append("server logged errors:\n" + target.log_tail())
        target.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--host", help="fuzz a server already running (default: start one)")
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--pid", type=int, help="the external server's pid, to count its sockets")
    parser.add_argument("--concurrency", type=int, default=40, help="fuzz connections at once")
    parser.add_argument("--check-every", type=float, default=30)
    parser.add_argument("--max-calls", type=int, default=60)
    parser.add_argument("--handshake-timeout", type=float, default=1.0)
    parser.add_argument("--idle-timeout", type=float, default=2.0)
    parser.add_argument(
        "--slow-loris-share",
        type=float,
        default=0.05,
        help="share of connections that trickle their input a byte at a time",
    )
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one, printed")
    parser.add_argument("--no-codec", dest="codec", action="store_false")
    args = parser.parse_args()
    summary = Summary(seed=args.seed if args.seed is not None else random.randrange(2**31))
    print(f"fuzzing for {args.minutes:g} min, seed {summary.seed}", flush=True)
    target = Target(args)  # before the event loop: Django's set-up and migrate are synchronous
    asyncio.run(main_async(target, args, summary))
    failed = bool(
        summary.server_crashes
        or summary.leaked_connections
        or summary.good_call_checks_failed
        or summary.codec_faults
        or summary.server_kept_open
        or summary.slow_loris_held
        or summary.server_errors_logged
        or not summary.good_call_checks_passed
    )
    figures = {k: v for k, v in asdict(summary).items() if k != "failures"}
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    for failure in summary.failures:
        print("FAILURE:", failure)
    print(json.dumps({**figures, "failures": summary.failures, "ok": not failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
