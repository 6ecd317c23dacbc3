"""A real Asterisk for the tests: the minimal Asterisk 22 LTS build in ../shared/asterisk (or the
unpacked build named by ASTERISK_DIR), started in a folder of its own with the project's own
deploy/asterisk/extensions.conf, placing test calls through call files and reading back what
its dialplan did from its log.

The build's README (../shared/asterisk/README.md) describes the contexts used here: `bot-project`
and `bot-project-wideband` enter the project's `[tire-shop-inbound]` and
`[tire-shop-inbound-wideband]` with caller number 0671234567; the `caller*` contexts are
scripted callers that record the call with MixMonitor.
"""

import os
import re
import shutil
import subprocess
import time
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIALPLAN = ROOT / "deploy" / "asterisk" / "extensions.conf"
SHARED = ROOT.parent / "shared" / "asterisk"
HOW_TO_GET_ONE = (
    "no Asterisk build: set ASTERISK_DIR to an unpacked asterisk-min build, or put "
    "asterisk-min-*.tar.gz in ../shared/asterisk (see ../shared/asterisk/README.md and "
    "docs/asterisk.md)"
)
# Set (by .ci/run, which always runs the real-PBX tests): a missing build fails them instead of
# skipping them, so a CI machine without Asterisk cannot pass with the tests unrun.
REQUIRED = "ASTERISK_REQUIRED"

# Test callers of our own, beside the build's: included by its extensions.conf.
TEST_CALLERS = """
; Written by tests/helpers/asterisk.py.
; Listens to the greeting, then keys 0 (an operator) and listens to the farewell.
[caller-greeted-keys-zero]
exten => s,1,Gosub(caller-common,start,1)
 same => n,Gosub(turn,s,1())
 same => n,SendDTMF(0)
 same => n,Wait(15)
 same => n,Hangup()

; Says its first line, waits for the bot to start its reply, and hangs up in the middle of it.
[caller-hangs-up-mid-reply]
exten => s,1,Gosub(caller-common,start,1)
 same => n,Gosub(turn,s,1(order01))
 same => n,WaitForNoise(300,1,40)
 same => n,Log(NOTICE,CALLER hangup uuid=${CALL_UUID}: bot talking (${WAITSTATUS}), hanging up)
 same => n,Wait(1.5)
 same => n,Hangup()
"""


def find_build() -> tuple[Path | None, Path | None]:
    """(an unpacked build, a tarball): ASTERISK_DIR first, then ../shared/asterisk."""
    named = os.environ.get("ASTERISK_DIR")
    if named and (Path(named) / "sbin" / "asterisk").exists():
        return Path(named), None
    tarballs = sorted(SHARED.glob("asterisk-min-*.tar.gz"))
    if tarballs:
        return None, tarballs[-1]
    return None, None


def require_build() -> None:
    """Skip the calling test, saying how to get a build, where none can be found; fail it
    instead where ASTERISK_REQUIRED is set."""
    if find_build() != (None, None):
        return
    if os.environ.get(REQUIRED):
        pytest.fail(f"{REQUIRED} is set and there is {HOW_TO_GET_ONE}", pytrace=False)
    pytest.skip(HOW_TO_GET_ONE)


@dataclass
class PlacedCall:
    tag: str  # our id of the test call (the caller leg's CALL_UUID)
    recording: Path  # prefix: -bot.wav is what the caller heard, -caller.wav what it said


class Asterisk:
    """One Asterisk instance in `folder`, whose bot contexts reach `audiosocket` (host:port)
    and whose project dialplan calls the web service at `web`."""

    def __init__(self, folder: Path, audiosocket: str, web: str) -> None:
        self.folder = folder
        self.audiosocket = audiosocket
        self.web = web
        self.cli = folder / "bin" / "astcli"
        self.log = folder / "var" / "log" / "asterisk" / "full.log"

    @classmethod
    def start(cls, folder: Path, audiosocket: str, web: str) -> "Asterisk":
        build, tarball = find_build()
        if build is None and tarball is None:
            raise FileNotFoundError(HOW_TO_GET_ONE)
        folder.mkdir(parents=True, exist_ok=True)
        if build is not None:  # run a copy, so that the named build stays as it was
            shutil.copytree(build, folder, dirs_exist_ok=True, symlinks=True)
        start = (build or folder) / "start-asterisk.sh"
        if tarball is not None:
            start = tarball.parent / "start-asterisk.sh"
        command = ["bash", str(start)]
        if tarball is not None:
            command += ["--tarball", str(tarball)]
        command += [
            "--project-dialplan", str(PROJECT_DIALPLAN),
            "--web", web,
            str(folder), audiosocket,
        ]  # fmt: skip
        started = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if started.returncode != 0:  # e.g. missing runtime libraries: the script names them
            raise RuntimeError(f"Asterisk did not start:\n{started.stdout}\n{started.stderr}")
        pbx = cls(folder, audiosocket, web)
        pbx.add_test_callers()
        return pbx

    def add_test_callers(self) -> None:
        etc = self.folder / "etc" / "asterisk"
        (etc / "test-callers.conf").write_text(TEST_CALLERS)
        extensions = etc / "extensions.conf"
        text = extensions.read_text()
        if "test-callers.conf" not in text:
            extensions.write_text(text + '\n#tryinclude "test-callers.conf"\n')
        self.command("dialplan reload")

    def command(self, line: str) -> str:
        done = subprocess.run(
            [str(self.cli), "-rx", line], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    def stop(self) -> None:
        subprocess.run([str(self.cli), "-rx", "core stop now"], capture_output=True, timeout=30)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def place_call(self, bot: str, caller: str = "caller", max_seconds: int = 240) -> PlacedCall:
        """Drop a call file into the spool: the bot leg runs context `bot`, the caller leg
        `caller`. Returns at once; `wait_ended` waits for the call to end."""
        tag = str(uuid.uuid4())
        recording = self.folder / "var" / "spool" / "asterisk" / "monitor" / tag
        spool = self.folder / "var" / "spool" / "asterisk"
        body = (
            f"Channel: Local/s@{bot}\nContext: {caller}\nExtension: s\nPriority: 1\n"
            f"MaxRetries: 0\nWaitTime: 30\nSetvar: __CALL_UUID={tag}\n"
            f"Setvar: __REC={recording}\nSetvar: MAX_SECONDS={max_seconds}\n"
        )
        draft = spool / "tmp" / f"{tag}.call"
        draft.write_text(body)
        draft.rename(spool / "outgoing" / f"{tag}.call")  # atomic: pbx_spool takes it whole
        return PlacedCall(tag, recording)

    def caller_channel(self, call: PlacedCall, timeout: float = 60) -> str:
        """The caller leg's channel name (Local/...;1), once the call has started."""
        pattern = re.compile(rf"CALLER start uuid={call.tag} .*channel=(\S+)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := pattern.search(self.log_since(0)):
                return found.group(1)
            time.sleep(0.5)
        raise AssertionError(f"test call {call.tag} did not start; see {self.log}")

    def wait_ended(self, call: PlacedCall, timeout: float = 300) -> list[str]:
        """Wait until both legs of the call are gone; returns the dialplan applications the
        bot leg executed, in order, as `Application("args")` strings."""
        channel = self.caller_channel(call)
        base = channel.rsplit(";", 1)[0]
        deadline = time.monotonic() + timeout
        while base in self.command("core show channels concise"):
            if time.monotonic() > deadline:
                raise AssertionError(f"call {call.tag} ({base}) still up after {timeout} s")
            time.sleep(1)
        return self.bot_leg_steps(base)

    def bot_leg_steps(self, base: str) -> list[str]:
        steps = []
        executing = re.compile(r"Executing \[[^\]]*\] (\w+)\(\"" + re.escape(base) + r";2\"(.*)\)")
        for line in self.log_since(0).splitlines():
            if found := executing.search(line):
                arguments = found.group(2).strip(', "')
                steps.append(f"{found.group(1)}({arguments})")
        return steps

    @staticmethod
    def audiosocket_uuid(steps: list[str]) -> str:
        """The UUID the bot leg gave AudioSocket (application or channel driver)."""
        for step in steps:
            if found := re.search(r"AudioSocket(?:\(|/[^/]+/)([0-9a-f-]{36})", step):
                return found.group(1)
        raise AssertionError(f"the bot leg never reached AudioSocket: {steps}")

    @staticmethod
    def warnings(log: str) -> list[str]:
        return [line for line in log.splitlines() if " WARNING[" in line or " ERROR[" in line]


def read_wav(path: Path) -> tuple[bytes, int]:
    """The 16-bit mono PCM of a recording and its sample rate."""
    with wave.open(str(path), "rb") as recording:
        return recording.readframes(recording.getnframes()), recording.getframerate()


def finished_recording(path: Path, timeout: float = 30) -> tuple[bytes, int]:
    """A MixMonitor recording once Asterisk has finished writing it: MixMonitor closes the file
    (and fills in the WAV header's sizes) after the call's channels are gone, later on a busy
    machine, so the file is read when its header accounts for all of it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 44:
            try:
                pcm, rate = read_wav(path)
            except (EOFError, wave.Error):
                pcm, rate = b"", 0
            if pcm and len(pcm) + 44 >= path.stat().st_size:
                return pcm, rate
        time.sleep(0.3)
    raise AssertionError(f"the recording {path} was not finished within {timeout} s")
