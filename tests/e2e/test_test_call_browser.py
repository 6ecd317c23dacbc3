"""The Test call page in a real Chromium against a real Daphne: staff allowed to place test calls
talk to the bot through the browser's microphone (Chromium's fake capture device, fed a WAV of
a caller asking for tires) and by text chat; the page shows the transcript and plays the bot's
speech; the test call and its turns are in the database. Staff without the permission get 403
on the page and on the websocket.

The call runs inside Daphne (the websocket transport of the call pipeline), on the embedded
engines (Whisper tiny.en, espeak-ng). The fake microphone is a 16 kHz WAV; Chromium captures
at its own rate and the page's worklet resamples it to the call's 16 or 8 kHz.
"""

import http.client
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from calls.models import Call, CallStatus, Turn, TurnRole
from catalog.models import Season
from orders.models import Order
from tests.factories import make_brand, make_tire
from tests.helpers.chromium import chromium, in_thread, log_in, write_wav
from tests.helpers.server_process import TEST_SERVER_ENV
from tests.helpers.voices import caller_voice
from tests.helpers.web_process import start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PAGE = "/admin/test-call/"
SOCKET = "/ws/test-call/"
PASSWORD = "winter tires 205/55"
RATE = 16000
WAIT_MS = 90_000  # the machine is slow: the first transcription loads Whisper in Daphne


@pytest.fixture
def web():
    # The bot must not prompt ("are you still there?") or hang up while the test looks on.
    process = start_daphne(env={**TEST_SERVER_ENV, "NO_INPUT_TIMEOUT": "120"})
    yield process
    process.stop()


def make_user(username: str, *, permitted: bool):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)
    if permitted:
        user.user_permissions.add(Permission.objects.get(codename="place_test_call"))
    return user


@pytest.fixture
def tester():
    return make_user("tester", permitted=True)


@pytest.fixture
def stranger():
    # Staff who may read calls but not place test calls.
    user = make_user("stranger", permitted=False)
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    return user


@pytest.fixture
def microphone(tmp_path):
    """A caller who lets the bot greet, asks for tires, then waits for the answer; Chromium
    plays it from when the page opens the microphone, and loops it."""
    speech = caller_voice("I need winter tires", RATE)
    silence = bytes(2 * RATE)  # one second
    return write_wav(tmp_path / "caller.wav", 8 * silence + speech + 12 * silence, RATE)


def _open(browser, web, username: str):
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = f"http://{web.host}:{web.port}"
    response = log_in(page, base, username, PASSWORD, PAGE)
    return page, response, problems


def _call_rows(call_uuid: str, turns: int):
    """The test call and its turns, once the recorder has written at least `turns` of them."""
    import time

    deadline = time.monotonic() + 60
    while True:
        call = Call.objects.filter(uuid=call_uuid).first()
        rows = list(Turn.objects.filter(call=call).order_by("sequence")) if call else []
        if call is not None and len(rows) >= turns and call.status == CallStatus.ENDED:
            return call, rows
        if time.monotonic() > deadline:
            raise AssertionError(f"call {call_uuid} not recorded with {turns} turns: {rows}")
        time.sleep(0.2)


def test_a_voice_call_from_the_browser_is_heard_answered_and_recorded(web, tester, microphone):
    from playwright.sync_api import expect

    with chromium(microphone) as browser:
        page, response, problems = _open(browser, web, "tester")
        try:
            assert response.status == 200
            expect(page.locator("h1")).to_contain_text("Test call")
            page.click("#tc-start")
            expect(page.locator("#tc-status")).to_contain_text("In call", timeout=WAIT_MS)
            # The bot's greeting, spoken and played in the browser.
            bot = page.locator("#tc-transcript .turn.bot")
            expect(bot.first).to_contain_text("How can I help you", timeout=WAIT_MS)
            page.wait_for_function("window.testCall.playedSamples > 0", timeout=WAIT_MS)
            # The fake microphone's words, recognised, and the bot's answer to them.
            caller = page.locator("#tc-transcript .turn.caller")
            expect(caller.first).to_contain_text(re.compile("winter", re.I), timeout=WAIT_MS)
            expect(bot.nth(1)).not_to_be_empty(timeout=WAIT_MS)
            expect(page.locator("#tc-timings tbody tr").first).to_be_visible(timeout=WAIT_MS)
            played = int(page.locator("#tc-played").text_content())
            assert played > RATE, f"less than a second of the bot's speech played: {played}"
            assert page.evaluate("window.testCall.sentFrames") > 50  # a second of microphone
            call_uuid = page.locator("#test-call").get_attribute("data-call")

            page.click("#tc-hangup")
            expect(page.locator("#tc-end")).to_be_visible(timeout=WAIT_MS)
            assert page.evaluate("window.testCall.state") == "ended"
            # Every sample of the bot's speech that reached the page was played.
            page.wait_for_function(
                "window.testCall.playedSamples === window.testCall.receivedSamples",
                timeout=WAIT_MS,
            )
            assert not problems, f"the page's script failed: {problems}"
        except Exception:
            print("--- daphne ---\n" + web.log[-6000:])
            print("--- the page ---\n" + page.locator("#tc-transcript").inner_text())
            raise

    call, turns = in_thread(_call_rows, call_uuid, 3)
    assert call.is_test and not call.test_real_orders
    said = [t.text for t in turns if t.role == TurnRole.CALLER]
    assert any("winter" in text.lower() for text in said), said
    assert turns[0].role == TurnRole.BOT and "How can I help you" in turns[0].text


def test_phone_quality_plays_the_bot_at_8_khz(web, tester, microphone):
    from playwright.sync_api import expect

    with chromium(microphone) as browser:
        page, _, problems = _open(browser, web, "tester")
        page.check("#tc-phone-quality")
        page.click("#tc-start")
        expect(page.locator("#tc-transcript .turn.bot").first).to_contain_text(
            "How can I help you", timeout=WAIT_MS
        )
        # The server agreed on 8 kHz both ways, and a second of the greeting played.
        assert page.evaluate("window.testCall.sampleRate") == 8000
        page.wait_for_function("window.testCall.playedSamples > 8000", timeout=WAIT_MS)
        # The page's own 8 kHz capture (resampled from the browser's rate) is understood.
        caller = page.locator("#tc-transcript .turn.caller")
        expect(caller.first).to_contain_text(re.compile("winter", re.I), timeout=WAIT_MS)
        page.click("#tc-hangup")
        expect(page.locator("#tc-end")).to_be_visible(timeout=WAIT_MS)
        assert not problems, problems


def test_a_text_chat_reaches_a_sandbox_order(web, tester):
    from playwright.sync_api import expect

    nokian = make_brand(name="Nokian")
    make_tire(
        brand=nokian, model="Hakkapeliitta R5", season=Season.WINTER,
        price=Decimal("3900"), stock_quantity=12, sku="NOK-R5-16",
    )  # fmt: skip
    caller_says = [
        "I need four winter tires",
        "205/55 R16",
        "Yes",
        "My name is John",
        "My number is 067 123 45 67",
        "I will pick them up",
        "Yes",
    ]
    with chromium() as browser:
        page, _, problems = _open(browser, web, "tester")
        try:
            page.check("input[name=mode][value=text]")
            page.click("#tc-start")
            bot = page.locator("#tc-transcript .turn.bot")
            expect(bot.first).to_contain_text("How can I help you", timeout=WAIT_MS)
            for number, text in enumerate(caller_says, start=2):
                page.fill("#tc-message", text)
                page.press("#tc-message", "Enter")
                expect(bot).to_have_count(number, timeout=WAIT_MS)
            expect(page.locator("#tc-slots")).to_contain_text("John")
            if page.evaluate("window.testCall.state") == "live":  # the bot may hang up first
                page.click("#tc-hangup")
            expect(page.locator("#tc-end")).to_be_visible(timeout=WAIT_MS)
            orders = page.locator("#tc-orders").text_content()
            expect(page.locator("#tc-sandbox")).to_contain_text("Sandbox")
            call_uuid = page.locator("#test-call").get_attribute("data-call")
            assert not problems, problems
        except Exception:
            print("--- daphne ---\n" + web.log[-6000:])
            print(page.locator("#tc-transcript").inner_text())
            raise

    call, turns = in_thread(_call_rows, call_uuid, 2 * len(caller_says) + 1)
    order = in_thread(lambda: Order.objects.get(source_call=call))
    assert order.number in orders
    assert order.sandbox and call.is_test
    assert [t.text for t in turns if t.role == TurnRole.CALLER] == caller_says


@pytest.fixture
def bilingual_web():
    process = start_daphne(env={**TEST_SERVER_ENV, "CALL_LANGUAGES": "en,uk"})
    yield process
    process.stop()


def test_the_chosen_language_the_keypad_and_real_orders_reach_the_bot(bilingual_web, tester):
    from playwright.sync_api import expect

    with chromium() as browser:
        page, _, problems = _open(browser, bilingual_web, "tester")
        page.check("input[name=mode][value=text]")
        page.select_option("#tc-language", "uk")
        expect(page.locator("#tc-real-warning")).to_be_hidden()
        page.check("#tc-real-orders")
        expect(page.locator("#tc-real-warning")).to_contain_text(
            "Orders placed in this call are real"
        )
        page.click("#tc-start")
        bot = page.locator("#tc-transcript .turn.bot")
        expect(bot.first).to_contain_text("Чим можу допомогти", timeout=WAIT_MS)
        assert page.evaluate("window.testCall.language") == "uk"
        # Zero on the keypad asks for a person, as on the phone.
        page.click(".tc-key[data-digit='0']")
        expect(page.locator("#tc-transcript .turn.caller").first).to_have_text("You (keypad):0")
        expect(page.locator("#tc-outcome")).to_have_text("Transferred to an operator")
        expect(page.locator("#tc-sandbox")).to_contain_text("Real orders were allowed")
        assert page.evaluate("window.testCall.state") == "ended"
        call_uuid = page.locator("#test-call").get_attribute("data-call")
        assert not problems, problems

    call, turns = in_thread(_call_rows, call_uuid, 3)
    assert call.is_test and call.test_real_orders and call.language == "uk"
    assert [(t.text, t.via) for t in turns if t.role == TurnRole.CALLER] == [("0", "dtmf")]


def _upgrade(web, cookie: str = "", origin: str | None = None) -> str:
    """A plain HTTP websocket handshake to the test-call socket; the status line of the answer."""
    connection = http.client.HTTPConnection(web.host, web.port, timeout=30)
    headers = {
        "Host": "localhost",
        "Origin": origin or "http://localhost",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    if cookie:
        headers["Cookie"] = cookie
    try:
        connection.request("GET", SOCKET, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_staff_without_the_permission_get_403_on_the_page_and_the_socket(web, tester, stranger):
    with chromium() as browser:
        page, response, _ = _open(browser, web, "stranger")
        assert response.status == 403
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        # The browser's own websocket is refused at the handshake (never opened).
        opened = page.evaluate(
            """(path) => new Promise((resolve) => {
                const socket = new WebSocket("ws://" + location.host + path);
                socket.onopen = () => resolve("opened");
                socket.onclose = (event) => resolve("closed " + event.code);
            })""",
            SOCKET,
        )
        assert opened == "closed 1006", opened
        permitted, _, _ = _open(browser, web, "tester")
        allowed = {c["name"]: c["value"] for c in permitted.context.cookies()}

    assert _upgrade(web, f"sessionid={cookies['sessionid']}") == 403
    assert _upgrade(web) == 403  # anonymous
    # The same handshake with a permitted session is taken: the refusals above are the
    # permission's, not a malformed request's.
    assert _upgrade(web, f"sessionid={allowed['sessionid']}") == 101
    # A page elsewhere using the tester's cookie (cross-site websocket hijacking) is refused.
    assert _upgrade(web, f"sessionid={allowed['sessionid']}", "https://evil.example") == 403
