"""What the agent has understood of a call so far, for the test-call page: its slots (size,
season, brand, quantity, name, phone, delivery, chosen tire, order) and what it expects next.

Read from CallContext, which both agents fill: the rule-based agent's frame (calls/agent/policy.py)
and the LLM agent's offers and order (calls/agent/llm). Internal bookkeeping (what was asked how
often, read-backs, attempts) is left out.
"""

import json

from .base import CallContext
from .policy import ORDER_SLOTS, SEARCH_SLOTS

# The LLM agent's own keys that say something a tester wants to see, and their names here.
LLM_KEYS = {"llm_offers": "offers", "llm_order_number": "order_number"}


def understood(context: CallContext) -> dict:
    """{"slots": {...}, "expecting": "..."}: JSON-serialisable, empty slots left out."""
    state = context.state
    slots = {key: state[key] for key in (*SEARCH_SLOTS, *ORDER_SLOTS) if state.get(key) is not None}
    if state.get("offers"):
        slots["offers"] = state["offers"]
    if state.get("order_number"):
        slots["order_number"] = state["order_number"]
    for key, name in LLM_KEYS.items():
        if state.get(key):
            slots[name] = state[key]
    # Decimals, dates or tuples an agent may keep: as the page shows them, text.
    slots = json.loads(json.dumps(slots, default=str))
    return {"slots": slots, "expecting": context.expect}
