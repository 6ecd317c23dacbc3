"""The caller corpus (tests/agent/dialogues/) played to the LLM agent, with the model's side a
literal stand-in at the HTTP boundary (tests/agent/literal_model.py) that knows of the caller
only what our agent sends it: the understanding note and the tool results.

What this proves about our code: the note carries what callers say (sizes misheard and matched to
stock, phones checked, offers picked, yes or corrections at the read-back) in uk, ru and en; the
tools search, read back and place orders on the sample catalog; the read-back rule lets no order
through that the caller did not confirm, also when the model tries to order early or with other
values; the same question unanswered twice ends with an operator. The figures are the literal
model's, not a real model's; they are printed, and no order may be wrong.
"""

import dataclasses
from collections import Counter

import channels.db
import pytest
from asgiref.sync import async_to_sync
from django.db import transaction

from calls.agent.base import AgentReply, CallContext
from calls.agent.llm import LLMAgent
from tests.agent import test_dialogue_corpus as corpus
from tests.agent.corpus_table import corpus_table
from tests.agent.literal_model import LiteralModel
from tests.agent.test_dialogue_corpus import CORPUS, sample_catalog  # noqa: F401
from tests.helpers.fake_llm_api import FakeChatAPI
from tests.helpers.fake_speech_api import API_KEY

# The share of the corpus the literal model must get right: issue 14's goal for the corpus. The
# literal model asks as the rule-based agent does, but is no policy; a fall below this is a
# regression in what the agent tells the model or in its tools (at 0.80, a nearest size in stock
# that search_tires never asked about and a read-back repeated for ever went unnoticed).
MIN_PASSED = 0.97
# The dialogues that show the rule-based agent's own answers (a greeting or "can you hear me?"
# answered, a language the shop does not speak, what the catalog holds of a kind or an offer):
# the literal model has no words of its own for them.
LLM_CORPUS = [dialogue for dialogue in CORPUS if not dialogue.rules_only]


class _Script:
    """The fake server's script: every completion is the literal model's."""

    def __init__(self) -> None:
        self.model: LiteralModel | None = None

    def __bool__(self) -> bool:
        return True

    def popleft(self):
        return self.model


def _play(
    api: FakeChatAPI, script: _Script, eager: bool, monkeypatch, settings
) -> tuple[list, int]:
    agent = LLMAgent()
    results, refusals = [], 0

    def turn(context: CallContext, text: str, keyed: bool) -> AgentReply:
        respond = agent.respond_keys if keyed else agent.respond
        return async_to_sync(respond)(context, text)

    monkeypatch.setattr(corpus, "agent_turn", turn)
    # Each dialogue runs in a transaction rolled back after it (the sample catalog is loaded
    # once): channels' per-call close of stale connections would close the one holding it.
    monkeypatch.setattr(channels.db, "close_old_connections", lambda: None)
    # ... and the agent's units run in the test's own connection (channels' thread, which
    # async_to_sync gives back to this one), not in database lanes with connections of their own.
    settings.CALL_DB_THREADS = 0
    for dialogue in LLM_CORPUS:
        script.model = LiteralModel(dialogue.language, dialogue.caller_number, eager=eager)
        with transaction.atomic():
            given = corpus._place_given_orders(dialogue)
            call = corpus.Call(dialogue)
            call.play()
            verdict, problems = corpus._judge(call, given)
            transaction.set_rollback(True)
        refusals += script.model.refusals
        results.append(
            corpus.Result(
                dialogue.id, dialogue.language, verdict, call.turns, call.repeated, problems
            )
        )
    return results, refusals


@pytest.fixture
def chat_api(settings):
    api, script = FakeChatAPI(), _Script()
    api.script = script
    api.start()
    settings.LLM_API_URL, settings.LLM_API_KEY = api.openai_url, API_KEY
    settings.LLM_MODEL, settings.LLM_TIMEOUT = "literal", 5.0
    yield api, script
    api.stop()


@pytest.mark.django_db
@pytest.mark.usefixtures("sample_catalog")
@pytest.mark.parametrize("eager", [False, True], ids=["honest-model", "careless-model"])
def test_the_corpus_through_the_llm_agent_places_no_wrong_order(
    chat_api, eager, monkeypatch, settings, capsys
):
    api, script = chat_api
    results, refusals = _play(api, script, eager, monkeypatch, settings)
    with capsys.disabled():
        print(f"\nLLM agent, {'careless' if eager else 'honest'} literal model:")
        print("\n".join(corpus_table(results)))
        failed = [f"{r.dialogue_id}: {r.problems[:2]}" for r in results if r.verdict != "passed"]
        print("not passed:", *failed[:40], sep="\n  ")
    verdicts = Counter(r.verdict for r in results)
    wrong = [dataclasses.asdict(r) for r in results if r.verdict == "wrong"]
    assert not wrong, wrong
    assert verdicts["passed"] >= MIN_PASSED * len(results), verdicts
    if eager:
        # Each order dialogue gave the careless model at least one refusal (an order tried before
        # the read-back, and one with a tire more at the yes).
        orders = sum(1 for d in LLM_CORPUS if "order" in d.expect)
        assert refusals >= orders, (refusals, orders)
