"""A local stand-in for an OpenAI-compatible chat completions API, for tests only.

A language model cannot run here, so the test scripts the model's side: each completion takes
the next assistant message from `script`. A scripted message may be a function of the request,
so it can answer from the tool results the agent sent back. Everything the agent sends is
recorded; the server can fail or be slow on purpose, like the speech fake.
"""

import json
from collections import deque

from tests.helpers.fake_speech_api import API_KEY, APIFailure, FakeAPI, Request


def tool_call(name: str, call_id: str = "call_1", **arguments) -> dict:
    """An assistant message that calls one tool."""
    function = {"name": name, "arguments": json.dumps(arguments)}
    return {
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function", "function": function}],
    }


def tool_results(body: dict) -> list[dict]:
    """The tool results in a completion request, newest last, decoded."""
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]


class FakeChatAPI(FakeAPI):
    def __init__(self) -> None:
        super().__init__()
        self.script: deque = deque()

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self) -> dict:
        return {"/v1/chat/completions": self.complete}

    def authorised(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            raise APIFailure(401, "Incorrect API key provided.")

    def complete(self, request: Request) -> tuple[int, str, bytes]:
        body = request.json or {}
        if not body.get("model") or not body.get("messages"):
            raise APIFailure(400, "model and messages are required")
        if not self.script:
            raise APIFailure(500, "the test scripted no more answers")
        message = self.script.popleft()
        if callable(message):
            message = message(body)
        reason = "tool_calls" if message.get("tool_calls") else "stop"
        answer = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", **message},
                    "finish_reason": reason,
                }
            ],
        }
        return 200, "application/json", json.dumps(answer).encode()
