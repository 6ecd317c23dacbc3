"""A Celery broker that accepts connections and never answers, under the real AudioSocket
server: the caller who confirms an order hears it is placed (and it is), another caller's tire
search and both calls' records go on as on any day, and once a real worker runs on a broker
that answers, its sweeps send the order's notification and wrap up both calls.

The broker is real TCP that never answers (tests/helpers/silent_server.py); the language model
is scripted (tests/helpers/fake_llm_api.py), so the dialogue is the same every run; the worker
uses Redis database 3.
"""

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from calls.models import Call, CallOutcome, TurnRole
from catalog.models import Season
from orders.models import NotificationStatus, Order
from tests.factories import make_brand, make_tire
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript, wait_for
from tests.helpers.celery_worker import start_worker
from tests.helpers.fake_llm_api import FakeChatAPI, tool_call
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import start_server
from tests.helpers.silent_server import SilentServer
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]

RATE = 16000
REDIS_DB = 3


def _model(body: dict) -> dict:
    """The scripted model: has the order read back when asked for one, orders on a yes (to that
    read-back), searches otherwise, and says what its tools did."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        result = json.loads(last["content"])
        if "order_number" in result:
            return {"content": f"Done, your order number is {result['order_number']}."}
        if result.get("tires"):
            tire = result["tires"][0]
            return {"content": f"We have {tire['brand']} {tire['model']} at {tire['price']}."}
        return {"content": f"Sorry, that did not work: {result}"}
    order = {
        "items": [{"sku": "NOK-R5-16", "quantity": 4}],
        "customer_name": "Olena",
        "customer_phone": "067 123 45 67",
        "fulfilment": "pickup",
    }
    if "order" in last["content"].lower() and "yes" not in last["content"].lower():
        return tool_call("read_back_order", **order)  # the agent reads it back
    if "yes" in last["content"].lower():
        return tool_call("create_order", **order)
    return tool_call("search_tires", size="205/55 R16", season="winter")


@sync_to_async
def _winter_tire() -> None:
    make_tire(
        brand=make_brand(name="Nokian"), model="Hakkapeliitta R5", season=Season.WINTER,
        price=Decimal("3900"), stock_quantity=12, sku="NOK-R5-16",
    )  # fmt: skip


async def _greeted(server) -> AudioSocketClient:
    client = await AudioSocketClient.connect(server.host, server.port, sample_rate=RATE)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=1000, first_frame_timeout=15)
    return client


async def _ask(client: AudioSocketClient, text: str):
    await client.send_audio(caller_voice(text, RATE))
    return await client.read_audio_response(silence_gap_ms=1200, first_frame_timeout=40)


def _working_broker() -> str:
    url = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    return f"redis://{url.hostname or '127.0.0.1'}:{url.port or 6379}/{REDIS_DB}"


async def test_a_hung_broker_holds_up_no_caller_and_the_sweeps_catch_up(tmp_path: Path):
    await _winter_tire()
    broker = SilentServer().start()
    llm = FakeChatAPI().start()
    llm.script.extend([_model] * 20)
    env = {
        "AGENT": "llm",
        "LLM_API_URL": llm.openai_url,
        "LLM_API_KEY": API_KEY,
        "CELERY_BROKER_URL": broker.url,
        "NOTIFY_CUSTOMER_SMS": "true",
        "NO_INPUT_TIMEOUT": "60",
    }
    server = start_server(env=env)
    try:
        ordering = await _greeted(server)
        searching = await _greeted(server)
        await _ask(ordering, "I would like to order them.")
        await _ask(ordering, "Yes, please.")
        # The database thread every call shares is free: another caller's search is answered.
        await _ask(searching, "Do you have winter tires?")
        await ordering.hangup()
        await searching.hangup()
        ordered = await ended_call_turns(ordering.call_uuid, 3, timeout=30)
        searched = await ended_call_turns(searching.call_uuid, 3, timeout=30)
    finally:
        server.stop()
        broker.stop()
        llm.stop()

    order = await Order.objects.filter(source_call__uuid=ordering.call_uuid).afirst()
    assert order is not None, transcript(ordered)
    # The caller hears the truth: placed, with its number; not the apology AGENT_TIMEOUT brings.
    assert ordered[-1].role == TurnRole.BOT
    assert ordered[-1].text == f"Done, your order number is {order.number}.", transcript(ordered)
    assert (await Call.objects.aget(uuid=ordering.call_uuid)).outcome == CallOutcome.ORDER_PLACED
    assert searched[-1].text == "We have Nokian Hakkapeliitta R5 at 3900.00.", transcript(searched)
    assert broker.connections >= 1  # it did try the broker
    assert "could not queue" in server.log
    notification = await order.notifications.aget()
    assert notification.status == NotificationStatus.PENDING

    # The broker is back (a real one, with a worker and its beat): the sweeps send what the
    # server could not queue and wrap up both calls.
    sweeps = {
        "NOTIFY_CUSTOMER_SMS": "true",
        "NOTIFY_SWEEP_INTERVAL": "1",
        "NOTIFY_SWEEP_MIN_AGE": "1",
        "WRAP_UP_SWEEP_INTERVAL": "1",
        "WRAP_UP_SWEEP_MIN_AGE": "1",
    }
    worker = start_worker(_working_broker(), tmp_path / "beat-schedule", sweeps)
    try:

        async def caught_up() -> bool:
            await notification.arefresh_from_db()
            wrapped = Call.objects.filter(
                uuid__in=[ordering.call_uuid, searching.call_uuid], wrapped_up_at__isnull=False
            )
            return notification.status == NotificationStatus.SENT and await wrapped.acount() == 2

        try:
            await wait_for(caught_up, timeout=90)
        except AssertionError as error:
            raise AssertionError(f"{error}\nworker:\n{worker.log[-4000:]}") from error
    finally:
        worker.stop()
    call = await Call.objects.aget(uuid=ordering.call_uuid)
    assert call.summary.startswith(f"Order placed: order {order.number}"), call.summary
