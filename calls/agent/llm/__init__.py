"""The LLM agent (AGENT=llm): agent.py runs the conversation; schema.py and toolbox.py are its
tools; readback.py the read-back rule; heard.py what understanding read; expect.py what a reply
asks for and the limit on asking it; prompts.py the system prompt."""

from .agent import MAX_TOOL_CALLS, MAX_TOOL_ROUNDS, LLMAgent

__all__ = ["MAX_TOOL_CALLS", "MAX_TOOL_ROUNDS", "LLMAgent"]
