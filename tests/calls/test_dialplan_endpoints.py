"""The endpoints the Asterisk dialplan calls: where a call goes after the bot, and the caller's
number before it. Only Asterisk hosts may use them."""

import uuid

import pytest

from calls.models import Call, CallOutcome
from tests.factories import make_call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("outcome", "route"),
    [
        (CallOutcome.TRANSFERRED, "operator"),
        (CallOutcome.ORDER_PLACED, "done"),
        (CallOutcome.INFO_GIVEN, "done"),
        (CallOutcome.FAILED, "operator"),
        ("", "operator"),  # still in progress, or ended without an outcome
    ],
)
def test_the_route_follows_the_calls_outcome(client, outcome, route):
    call = make_call(outcome=outcome)
    response = client.get(f"/calls/{call.uuid}/route")
    assert response.status_code == 200 and response.content.decode() == route
    assert response["Content-Type"].startswith("text/plain")


def test_an_unknown_call_goes_to_an_operator(client):
    response = client.get(f"/calls/{uuid.uuid4()}/route")
    assert response.status_code == 404 and response.content == b"operator"


def test_only_asterisk_hosts_may_ask(client, settings):
    call = make_call(outcome=CallOutcome.ORDER_PLACED)
    response = client.get(f"/calls/{call.uuid}/route", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    response = client.post(
        f"/calls/{call.uuid}/caller", {"number": "0671234567"}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 403
    assert Call.objects.get(pk=call.pk).caller_number == ""


def test_the_callers_number_is_stored_in_e164_before_the_call_arrives(client):
    call_uuid = uuid.uuid4()
    response = client.post(f"/calls/{call_uuid}/caller", {"number": "067 123 45 67"})
    assert response.status_code == 200
    assert Call.objects.get(uuid=call_uuid).caller_number == "+380671234567"
    # An internal extension is kept as it came; a second hand-over updates the same call.
    client.post(f"/calls/{call_uuid}/caller", {"number": "201"})
    assert Call.objects.get(uuid=call_uuid).caller_number == "201"
    assert client.get(f"/calls/{call_uuid}/caller").status_code == 405
