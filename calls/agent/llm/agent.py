"""The LLM agent: OpenAI-compatible chat completions with tool calling.

It works with OpenAI and with the self-hosted servers that speak the same API (Ollama, vLLM,
llama.cpp's server, LocalAI). The model gets a system prompt in the call's language, the
caller's words with what the understanding layer read in them, and the tools of schema.py. The
agent runs the tools the model calls and hands their results back, until the model answers in
words. What matters is enforced in code, not in the prompt: an order is placed only with the
values the bot read back and after the caller's yes to them (readback.py); the same question
left unanswered twice, or a model that is slow, away, looping or talking nonsense, hands the
caller to an operator; the reply's question is published as CallContext.expect.
"""

import asyncio
import json
import logging

from django.conf import settings

from ... import db_threads
from ...http_api import APIClient, APIError
from ...models import CallOutcome
from ...prompts import APOLOGY_TRANSFER, prompt
from .. import tools
from ..base import Action, Agent, AgentReply, CallContext
from ..messages import say
from ..understanding import Heard, understand
from .expect import MAX_ASKED, answered, ask_count, asked_in
from .heard import note, plain_yes
from .prompts import system_prompt, with_note
from .schema import TOOLS
from .toolbox import TurnTools

logger = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4  # model calls per caller turn; more means it is going round in circles
MAX_TOOL_CALLS = 8  # tool calls per caller turn, however the model batches them
HISTORY_MESSAGES = 40  # the system prompt plus the latest messages are sent


class LLMAgent(Agent):
    name = "llm"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str = ""):
        key = settings.LLM_API_KEY if api_key is None else api_key
        self.model = model or settings.LLM_MODEL
        self.api = APIClient(
            "llm",
            base_url or settings.LLM_API_URL,
            {"Authorization": f"Bearer {key}"} if key else {},
            settings.LLM_TIMEOUT,
        )

    async def respond_keys(self, context: CallContext, digits: str) -> AgentReply:
        if digits.strip("#* ") == "0":  # 0 on the keypad is an operator, as with the rules
            context.expect = "free"
            return AgentReply(
                say("transfer", context.language), Action.TRANSFER, CallOutcome.TRANSFERRED
            )
        return await self.respond(context, digits.strip("#* "))

    async def respond(self, context: CallContext, text: str) -> AgentReply:
        state = context.state
        turn = state["llm_turn"] = state.get("llm_turn", 0) + 1
        asked = state.get("llm_asking", context.expect)
        heard, understood = await db_threads.run("agent", _hear, context, text, turn)
        messages = state.setdefault("llm_messages", [])
        messages.append({"role": "user", "content": with_note(text, understood)})
        turn_tools = TurnTools(context, turn)
        before: list[str] = []  # words the model said along with its tool calls
        try:
            for _ in range(MAX_TOOL_ROUNDS):
                message = await asyncio.to_thread(self._complete, context, messages)
                messages.append(message)
                calls = message.get("tool_calls") or []
                if not calls:
                    content = (message.get("content") or "").strip()
                    if not content:
                        raise APIError("llm: an empty answer")
                    return self._reply(context, content, turn_tools, heard, asked)
                if content := (message.get("content") or "").strip():
                    before.append(content)
                if turn_tools.calls + len(calls) > MAX_TOOL_CALLS:
                    raise APIError(f"llm: more than {MAX_TOOL_CALLS} tool calls in one turn")
                for call in calls:
                    result = await turn_tools.run(call)
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.get("id", ""),
                            "content": json.dumps(result, ensure_ascii=False),
                        }
                    )
                if turn_tools.read_back is not None:
                    # The read-back is said in the agent's words, so every value is in it.
                    said = " ".join([*before, turn_tools.read_back.text])
                    messages.append({"role": "assistant", "content": said})
                    return self._reply(context, said, turn_tools, heard, asked)
                if turn_tools.action != Action.CONTINUE and not turn_tools.needs_words:
                    context.expect = "free"
                    return AgentReply(
                        turn_tools.say_on_action(), turn_tools.action, turn_tools.outcome
                    )
            raise APIError(f"llm: no answer after {MAX_TOOL_ROUNDS} rounds of tool calls")
        except (APIError, ValueError, KeyError, IndexError, TypeError) as error:
            # Slow, away or talking nonsense: the caller hears the stored apology and a person.
            logger.warning("call %s: the LLM agent failed: %s", context.call_uuid, error)
            context.expect = "free"
            return AgentReply(
                prompt(APOLOGY_TRANSFER, context.language),
                Action.TRANSFER,
                CallOutcome.TRANSFERRED,
                f"the LLM agent failed: {error}"[:200],
            )

    def _reply(
        self, context: CallContext, text: str, turn_tools: TurnTools, heard: Heard, asked: str
    ) -> AgentReply:
        """The model's words, with what they ask published; a question asked a third time
        without an answer goes to an operator instead."""
        asking = "confirm" if turn_tools.read_back is not None else asked_in(text)
        context.state["llm_asking"] = asking
        expect = "free" if asking == "change" else asking
        # After a free question ("anything else?") only what the tools did shows progress.
        progress = turn_tools.progress or (asked != "free" and answered(asked, heard))
        changed = turn_tools.changed or (asked != "free" and answered(asked, heard, False))
        times = ask_count(context.state, expect, text, progress, changed)
        if turn_tools.action == Action.CONTINUE and times > MAX_ASKED:
            logger.info("call %s: asked for %s %s times", context.call_uuid, expect, times)
            context.expect = "free"
            return AgentReply(
                say("transfer_not_understood", context.language),
                Action.TRANSFER,
                CallOutcome.TRANSFERRED,
            )
        context.expect = expect if turn_tools.action == Action.CONTINUE else "free"
        return AgentReply(text, turn_tools.action, turn_tools.outcome)

    def _complete(self, context: CallContext, messages: list[dict]) -> dict:
        system = system_prompt(context.language, context.caller_number)
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, *messages[-HISTORY_MESSAGES:]],
            "tools": TOOLS,
            "tool_choice": "auto",
            "temperature": 0.2,
            "max_tokens": 300,
        }
        body = self.api.post_json("chat/completions", payload)
        message = body["choices"][0]["message"]
        if not isinstance(message, dict):
            raise APIError("llm: the answer has no message")
        return {
            key: message[key]
            for key in ("role", "content", "tool_calls")
            if message.get(key) is not None
        }


def _hear(context: CallContext, text: str, turn: int) -> tuple[Heard, str]:
    """The caller's words read by the understanding layer (sync: brands and sizes in stock
    come from the catalog), and whether they are a plain yes to the read-back just said."""
    state = context.state
    read_back = state.get("llm_read_back")
    if read_back is not None and read_back.turn != turn - 1:
        read_back = state["llm_read_back"] = None  # other words came between: it is stale
    brands = getattr(context, "_brands", None)
    if brands is None:
        brands = context._brands = tools.brand_spellings()
    asking = "confirm" if read_back is not None else state.get("llm_asking", context.expect)
    offers = state.get("llm_offers") or ()
    heard = understand(text, context.language, asking, brands, offers)
    if read_back is not None and plain_yes(heard, read_back, offers):
        read_back.yes_turn = turn
    return heard, note(heard, context.language, list(offers), read_back)
