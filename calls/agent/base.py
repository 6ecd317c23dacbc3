"""The Agent interface of DESIGN.md and the registry that builds the configured agent."""

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class Action(StrEnum):
    CONTINUE = "continue"
    TRANSFER = "transfer"  # hand the call to an operator
    HANG_UP = "hang_up"


@dataclass
class CallContext:
    """What an agent knows of one call; it lives as long as the call."""

    call_uuid: uuid.UUID
    language: str
    caller_number: str = ""
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text), in order
    state: dict = field(default_factory=dict)  # the agent's own memory of this call
    # What the agent asks for next, so that recognition can be fitted to it: size, season,
    # choice, quantity, name, phone, fulfilment, address, confirm, order_number or free.
    expect: str = "free"


@dataclass(frozen=True)
class AgentReply:
    text: str
    action: Action = Action.CONTINUE
    outcome: str = ""  # a calls.models.CallOutcome to record, when the reply settles one
    reason: str = ""  # why the call ends, when the action ends it (stored as Call.end_reason)


class Agent(ABC):
    """Async, because agents reach the database (through database_sync_to_async) or an API."""

    name: str = "agent"

    @abstractmethod
    async def respond(self, context: CallContext, text: str) -> AgentReply: ...

    async def respond_keys(self, context: CallContext, digits: str) -> AgentReply:
        """Digits keyed on the phone ("0" asks for an operator); by default, read as text."""
        return await self.respond(context, digits)

    async def language_switched(self, context: CallContext, text: str) -> AgentReply:
        """The caller asked for another language ("можна російською?") and the call has taken
        it (context.language): say so and go on. By default the request is answered as text."""
        return await self.respond(context, text)


AGENTS = {
    "repeat": "calls.agent.repeat.RepeatAgent",
    "rules": "calls.agent.rules.RuleBasedAgent",
    "llm": "calls.agent.llm.LLMAgent",
}


@cache
def get_agent() -> Agent:
    """The process's agent, named in settings by a short name or an import path."""
    name = settings.AGENT
    return import_string(AGENTS.get(name, name))()
