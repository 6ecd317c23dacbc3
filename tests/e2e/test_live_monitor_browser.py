"""The live calls monitor in a real browser: staff log in to the admin served by Daphne, open
the monitor, and watch a call placed over AudioSocket to the real run_audiosocket: the bot's
greeting and then the caller's words appear while the call goes on, and after the hang-up the
call moves to the recently ended list.

Events travel through channels_redis when REDIS_URL is set, and through the consumer's database
polling on the embedded default (in-memory layer): the test must pass both ways.
"""

import asyncio
import re
import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.server_process import start_server
from tests.helpers.voices import caller_voice
from tests.helpers.web_process import start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

RATE = 16000  # slin16: espeak's voice at 8 kHz is too hard on Whisper tiny
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "winter tires 205/55"
WAIT_MS = 60_000  # the machine is slow: speech recognition and batching take their time


@pytest.fixture
def audiosocket():
    # The bot must not prompt or hang up while the test looks at the page.
    process = start_server(env={"NO_INPUT_TIMEOUT": "120"})
    yield process
    process.stop()


@pytest.fixture
def web():
    process = start_daphne()
    yield process
    process.stop()


@pytest.fixture
def browser(watcher):
    # After the ORM work: Playwright's sync API runs an event loop in this thread, where Django
    # refuses database calls.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"the Python package playwright is needed for this test: {error}")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    except Exception as error:
        playwright.stop()
        pytest.fail(f"Chromium ({CHROMIUM}) could not start, so the monitor is untested: {error}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def watcher():
    user = get_user_model().objects.create_user(
        username="monitor", password=PASSWORD, is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_live_calls"))
    return user


class Caller(threading.Thread):
    """A caller on their own event loop: hears the greeting, says `phrase`, hears the reply,
    keeps listening (as a phone line does) until told to hang up."""

    def __init__(self, server, phrase: str) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.phrase = phrase
        self.call_uuid = uuid.uuid4()
        self.may_hang_up = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._call())
        except BaseException as error:
            self.error = error

    async def _call(self) -> None:
        client = await AudioSocketClient.connect(
            self.server.host, self.server.port, call_uuid=self.call_uuid, sample_rate=RATE
        )
        client.start_background_silence()
        try:
            await client.read_audio_response(silence_gap_ms=1000, first_frame_timeout=20)
            await client.send_audio(caller_voice(self.phrase, RATE))
            await client.read_audio_response(silence_gap_ms=1200, first_frame_timeout=60)
            # Keep reading the bot's frames, or the server sees a stalled line and ends the call.
            while not self.may_hang_up.is_set():
                try:
                    await client.read_packet(timeout=0.2)
                except TimeoutError:
                    pass
        finally:
            await client.hangup()


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/live-calls/")
    page.fill("#id_username", "monitor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/live-calls/$"))


def test_staff_watch_a_call_live_from_greeting_to_hang_up(audiosocket, web, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = f"http://{web.host}:{web.port}"
    caller = Caller(audiosocket, "I need winter tires")
    try:
        _log_in(page, base)
        expect(page.locator("h1")).to_contain_text("Live calls")
        expect(page.locator("#live-status")).to_contain_text("Connected", timeout=WAIT_MS)

        caller.start()
        card = page.locator(f'#live-active [data-call="{caller.call_uuid}"]')
        expect(card.locator(".turn.bot").first).to_contain_text(
            "How can I help you", timeout=WAIT_MS
        )
        # The caller's words, while the call is still in progress.
        expect(card.locator(".turn.caller").first).to_contain_text(
            re.compile("winter", re.IGNORECASE), timeout=WAIT_MS
        )
        expect(card.locator(".duration")).to_have_text(re.compile(r"^\d+:\d\d$"))
        assert caller.is_alive(), f"the call ended before the page showed it: {caller.error!r}"

        caller.may_hang_up.set()
        caller.join(30)
        assert caller.error is None, f"the call went wrong: {caller.error!r}"
        ended = page.locator(f'#live-recent [data-call="{caller.call_uuid}"]')
        expect(ended).to_contain_text("Abandoned by the caller", timeout=WAIT_MS)
        expect(page.locator(f'#live-active [data-call="{caller.call_uuid}"]')).to_have_count(0)
        # Each transcript line is there once, however many ways it arrived.
        sequences = ended.locator(".turn").evaluate_all("els => els.map(e => e.dataset.sequence)")
        assert len(sequences) >= 2 and len(sequences) == len(set(sequences)), sequences
        assert not problems, f"the page's script failed: {problems}"
    except Exception:
        print("--- daphne ---\n" + web.log[-5000:])
        print("--- run_audiosocket ---\n" + audiosocket.log[-5000:])
        raise
    finally:
        caller.may_hang_up.set()
        if caller.is_alive():
            caller.join(30)
        page.close()
