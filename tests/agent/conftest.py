"""Fixtures of the LLM agent's tests: a local chat completions server with the model's side
scripted (tests/helpers/fake_llm_api.py), and a winter tire to order."""

from decimal import Decimal

import pytest

from catalog.models import Season
from tests.factories import make_brand, make_tire
from tests.helpers.fake_llm_api import FakeChatAPI
from tests.helpers.fake_speech_api import API_KEY


@pytest.fixture
def model(settings):
    api = FakeChatAPI().start()
    settings.LLM_API_URL, settings.LLM_API_KEY, settings.LLM_MODEL = (
        api.openai_url,
        API_KEY,
        "test-model",
    )
    settings.LLM_TIMEOUT = 2.0
    yield api
    api.stop()


@pytest.fixture
def tire():
    nokian = make_brand(name="Nokian")
    return make_tire(
        brand=nokian, model="Hakkapeliitta R5", season=Season.WINTER, price=Decimal("3900"),
        stock_quantity=12, sku="NOK-R5-16",
    )  # fmt: skip
