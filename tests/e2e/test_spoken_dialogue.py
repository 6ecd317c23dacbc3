"""Spoken orders in English through the real server with the mixed-initiative agent (issue 14): a
caller says several facts in one breath and is not asked for them again, corrects one value at
the read-back and only that value changes, and keys the phone number in after a spoken attempt
that was not a whole number; on 16 kHz and on the dialplan's 8 kHz. The Russian caller and the
same first call through AGENT=llm are in test_spoken_dialogue_russian_and_llm.py (a module of
their own, so the test processes share these minutes-long calls out).

The caller (tests/helpers/spoken_caller.py) answers whatever the bot asks, as a person does, so
a word the recognizer got wrong is asked again and answered, not a failed script; what is
judged is the order row, the read-backs the caller heard and the questions the bot asked.
"""

import asyncio

import pytest

from calls.models import TurnInput, TurnRole
from orders.models import Fulfilment
from tests.helpers.call_records import ended_call_turns
from tests.helpers.spoken_caller import SpokenCaller, Wants, question_of
from tests.helpers.spoken_orders import (
    dial,
    first_breath,
    order_of,
    peter_orders,
    reasked,
    shop,
    talk,
)
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


async def test_english_several_facts_in_one_breath_and_a_quantity_corrected_at_the_read_back(
    server,
):
    await peter_orders(server)


async def test_english_on_the_dialplans_8_khz_a_phone_number_keyed_in_after_a_spoken_attempt(
    server,
):
    sku = await asyncio.to_thread(shop)
    rate = 8000  # what Asterisk's AudioSocket() dialplan application speaks

    def voice(text: str, rate: int) -> bytes:
        return caller_voice(text, rate, "en")

    caller = SpokenCaller(
        None,
        "en",
        voice,
        Wants(quantity=4, name="Michael", phone="+380931112233", fulfilment="pickup"),
        says={
            "help": [
                "Good morning, I'm looking for winter tires, two hundred five, fifty five, "
                "R sixteen"
            ],
            "size": ["Two hundred five, fifty five, R sixteen"],
            "season": ["Winter"],
            "choice": ["Yes, I'll take them", "Yes, the Nokian"],
            "quantity": ["Four"],
            "name": ["Michael"],
            # Reading the number off a note, the caller loses the end of it.
            "phone": ["Zero nine three, one one one... sorry, I don't remember the rest"],
            "fulfilment": ["I'll pick them up"],
            "yes": ["Yes"],
            "fix_quantity": ["The quantity is four"],
            "fix_name": ["The name is wrong, it's Michael"],
            "fix_fulfilment": ["I'll pick them up"],
        },
    )
    await caller.rehearse(rate)
    caller.client = client = await dial(server.host, server.port, rate)
    last, said = await talk(caller)

    assert last == "placed", said
    order = await order_of(client.call_uuid)
    assert order is not None, said
    # The keypad was offered after the spoken number that was not whole, and the keys became
    # the order's phone, read back to the caller before the yes.
    turns = await ended_call_turns(client.call_uuid, 2)
    offered = [t for t in turns if t.role == TurnRole.BOT and question_of(t.text, "en") == "keypad"]
    keys = [t for t in turns if t.via == TurnInput.DTMF]
    assert offered and keys and offered[0].sequence < keys[0].sequence, said
    assert "".join(t.text for t in keys).endswith("0931112233#"), said
    assert caller.read_backs[-1]["phone_digits"] == "0931112233", said
    assert order.customer_phone == "+380931112233", said
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity) == (sku, 4), said
    assert (order.customer_name, order.fulfilment) == ("Michael", Fulfilment.PICKUP), said
    assert await reasked(client.call_uuid, "en", order.customer_phone) == [], said
    assert await first_breath(client.call_uuid, "en") >= {"size", "season"}, said
