"""A diagnostics agent that repeats what it understood: for checking a line's speech recognition
from a real phone, as Asterisk's Echo() checks its audio. It takes no orders."""

from .base import Agent, AgentReply, CallContext

HEARD = {
    "en": "I heard: {text}",
    "uk": "Я почула: {text}",
    "ru": "Я услышала: {text}",
}


class RepeatAgent(Agent):
    name = "repeat"

    async def respond(self, context: CallContext, text: str) -> AgentReply:
        return AgentReply(HEARD.get(context.language, HEARD["en"]).format(text=text))
