"""The tools the LLM agent offers the model, as chat-completions function schemas. Each maps to a
tool of calls/agent/tools.py (through toolbox.py) or to an action of the call."""

_ORDER_VALUES = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 1},
                },
                "required": ["sku", "quantity"],
            },
        },
        "customer_name": {"type": "string"},
        "customer_phone": {"type": "string"},
        "fulfilment": {"type": "string", "enum": ["pickup", "delivery"]},
        "delivery_address": {"type": "string"},
    },
    "required": ["items", "customer_name", "customer_phone", "fulfilment"],
}
_NO_ARGUMENTS = {"type": "object", "properties": {}}


def _tool(name: str, description: str, parameters: dict) -> dict:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


TOOLS = [
    _tool(
        "search_tires",
        "Find tires in stock, best first (a full set in stock, then cheapest). A size heard "
        "badly ('2555 R16') is matched to the sizes in stock; several possible sizes come back "
        "as did_you_mean, to ask the caller.",
        {
            "type": "object",
            "properties": {
                "size": {"type": "string", "description": "e.g. 205/55 R16, or R17 alone"},
                "season": {"type": "string", "enum": ["winter", "summer", "all_season"]},
                "brand": {"type": "string"},
                "studded": {"type": "boolean"},
                "min_price": {"type": "number"},
                "max_price": {"type": "number"},
                "include_out_of_stock": {"type": "boolean"},
            },
        },
    ),
    _tool(
        "check_availability",
        "Price and stock of one tire by SKU.",
        {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
    ),
    _tool(
        "shop_info",
        "What to tell a caller who asks about delivery (its cost) or the opening hours.",
        {
            "type": "object",
            "properties": {"topic": {"type": "string", "enum": ["delivery", "hours"]}},
            "required": ["topic"],
        },
    ),
    _tool(
        "order_status",
        "An order by its number, or the latest orders of a phone number.",
        {
            "type": "object",
            "properties": {"number": {"type": "string"}, "phone": {"type": "string"}},
        },
    ),
    _tool(
        "read_back_order",
        "Check the order's values and read them back to the caller (tire with season, "
        "quantity, total, name, phone, pickup or address); the caller's answer comes next.",
        _ORDER_VALUES,
    ),
    _tool(
        "create_order",
        "Place the order read back by read_back_order, after the caller's yes to it, with "
        "exactly the same values.",
        _ORDER_VALUES,
    ),
    _tool("transfer_to_operator", "Hand the call to a human operator.", _NO_ARGUMENTS),
    _tool("end_call", "End the call after saying goodbye.", _NO_ARGUMENTS),
]
