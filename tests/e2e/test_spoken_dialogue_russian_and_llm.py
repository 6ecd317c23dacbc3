"""Spoken orders through the real server with the mixed-initiative agent (issue 14), continued
from test_spoken_dialogue.py: a Russian caller on the dialplan's 8 kHz gives facts in one breath
and corrects the phone at the read-back, and the English first call again with AGENT=llm, the
model's side a local chat completions server."""

import asyncio

import pytest

from orders.models import Fulfilment
from tests.agent.literal_model import LiteralModel
from tests.helpers.fake_llm_api import FakeChatAPI, tool_results
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import start_server
from tests.helpers.spoken_caller import SpokenCaller, Wants
from tests.helpers.spoken_orders import (
    dial,
    first_breath,
    only_changed,
    order_of,
    peter_orders,
    reasked,
    shop,
    talk,
)
from tests.helpers.voices import russian_caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


class _LiteralScript:
    """The fake chat server's script for one call: every completion is the literal model's
    (tests/agent/literal_model.py), which knows the caller only through what our agent sends."""

    def __init__(self, model: LiteralModel) -> None:
        self.model = model

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> LiteralModel:
        return self.model


@pytest.fixture
def llm_server():
    """The server with AGENT=llm, its model a local chat completions server."""
    api = FakeChatAPI()
    api.script = _LiteralScript(LiteralModel("en"))
    api.start()
    env = {"AGENT": "llm", "LLM_API_URL": api.openai_url, "LLM_API_KEY": API_KEY,
           "LLM_MODEL": "literal", "NO_INPUT_TIMEOUT": "60"}  # fmt: skip
    process = start_server(env=env)
    process.model_api = api
    yield process
    process.stop()
    api.stop()


async def test_the_llm_agent_takes_facts_in_one_breath_and_a_quantity_corrected_at_the_read_back(
    llm_server,
):
    """The first call again, through the LLM agent: the note of what understanding read, the
    tools, the read-back in the agent's words and the yes to exactly it, over the real server."""
    client, said = await peter_orders(llm_server)
    # The order is the model's create_order, let through by the read-back rule.
    placed = tool_results(llm_server.model_api.requests[-1].json)[-1]
    assert placed["order_number"] == (await order_of(client.call_uuid)).number, said


@pytest.fixture
def russian_server():
    """A shop whose calls are in Russian: the bot speaks it and Whisper base hears it."""
    process = start_server(env={"CALL_LANGUAGE": "ru"})
    yield process
    process.stop()


async def test_russian_on_8_khz_facts_in_one_breath_and_the_phone_corrected_at_the_read_back(
    russian_server,
):
    sku = await asyncio.to_thread(shop)
    rate = 8000

    def voice(text: str, rate: int) -> bytes:
        return russian_caller_voice(text, rate)

    phone, corrected = "+380671234567", "+380509876543"
    caller = SpokenCaller(
        None,
        "ru",
        voice,
        Wants(quantity=4, name="Олег", phone=phone, fulfilment="pickup"),
        says={
            "help": [
                "Здравствуйте, нужны зимние шины, двести пять, пятьдесят пять, эр "
                "шестнадцать, четыре штуки"
            ],
            "size": ["Двести пять, пятьдесят пять, эр шестнадцать"],
            "season": ["Зимние"],
            "choice": ["Да, беру", "Да, Нокиан"],
            "quantity": ["Четыре"],
            "name": [
                "Меня зовут Олег, номер ноль шесть семь, один два три, сорок пять, шестьдесят семь",
                "Олег",
            ],
            "phone": [
                "Ноль шесть семь, один два три, сорок пять, шестьдесят семь",
                "Ноль пять ноль, девять восемь семь, шестьдесят пять, сорок три",
            ],
            "fulfilment": ["Самовывоз"],
            "yes": ["Да, всё верно"],
            "fix_quantity": ["Количество четыре"],
            "fix_name": ["Нет, меня зовут Олег"],
            "fix_phone": [
                "Телефон неправильный, правильный ноль пять ноль, девять восемь семь, "
                "шестьдесят пять, сорок три"
            ],
            "fix_fulfilment": ["Самовывоз"],
        },
        correct=[
            (
                "Нет, телефон неправильный, правильный ноль пять ноль, девять восемь семь, "
                "шестьдесят пять, сорок три",
                {"phone": corrected},
            )
        ],
    )
    await caller.rehearse(rate)
    caller.client = client = await dial(russian_server.host, russian_server.port, rate)
    last, said = await talk(caller)

    assert last == "placed", said
    order = await order_of(client.call_uuid)
    assert order is not None, said
    assert order.customer_phone == corrected, said
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity) == (sku, 4), said
    assert (order.customer_name, order.fulfilment) == ("Олег", Fulfilment.PICKUP), said
    # The first read-back had the first number; only the phone changed after the correction.
    first, final = caller.read_backs[0], caller.read_backs[-1]
    assert final["phone_digits"] == "0509876543", said
    assert only_changed(first, final, {"phone_digits"}) == [], said
    assert await reasked(client.call_uuid, "ru", phone) == [], said
    assert await first_breath(client.call_uuid, "ru") >= {"season", "quantity"}, said
