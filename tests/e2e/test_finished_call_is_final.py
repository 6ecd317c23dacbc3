"""A finished call is final: a connection that reuses its UUID is refused (hung up, logged),
and the stored call (outcome, route, end, transcript) is left exactly as it was."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallOutcome, CallStatus, TurnRole
from tests.factories import make_call, make_turn
from tests.helpers.audiosocket_client import AudioSocketClient, AudioSocketClientError
from tests.helpers.server_process import start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def finished_call():
    ended_at = timezone.now() - timedelta(minutes=5)
    call = make_call(
        status=CallStatus.ENDED,
        outcome=CallOutcome.ORDER_PLACED,
        end_reason="order placed",
        started_at=ended_at - timedelta(minutes=2),
        ended_at=ended_at,
        sample_rate=8000,
    )
    make_turn(call, role=TurnRole.BOT, text="Your order number is 1042. Goodbye!")
    return call


async def _refused(client: AudioSocketClient) -> bool:
    """True once the server hung up without saying a word."""
    try:
        response = await client.read_audio_response(first_frame_timeout=15)
    except AudioSocketClientError:
        return client.received_hangup or client.closed
    except TimeoutError:
        return False
    return response.duration_ms == 0 and response.hung_up


async def test_a_connection_reusing_a_finished_calls_uuid_is_refused(finished_call):
    server = start_server(env={"AGENT": "repeat"})
    try:
        client = await AudioSocketClient.connect(
            server.host, server.port, call_uuid=finished_call.uuid
        )
        client.start_background_silence()
        refused = await _refused(client)
        await client.close()
        # A new call is still served as usual.
        other = await AudioSocketClient.connect(server.host, server.port)
        other.start_background_silence()
        greeting = await other.read_audio_response(first_frame_timeout=30)
        await other.hangup()
        await asyncio.sleep(1)
    finally:
        server.stop()

    assert refused, server.log[-2000:]
    assert greeting.duration_ms > 0
    call = await Call.objects.aget(uuid=finished_call.uuid)
    assert (call.status, call.outcome, call.end_reason, call.ended_at) == (
        CallStatus.ENDED,
        CallOutcome.ORDER_PLACED,
        "order placed",
        finished_call.ended_at,
    )
    assert await call.turns.acount() == 1
    assert f"call {finished_call.uuid} has already ended" in server.log
