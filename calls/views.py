"""HTTP endpoints the Asterisk dialplan calls around AudioSocket().

Before the call is handed over, `POST /calls/<uuid>/caller` gives the caller's number (AudioSocket
itself carries none); after the bot hangs up, `GET /calls/<uuid>/route` says where the call goes:
`operator` (the operators' queue) or `done` (hang up). Anything but `done` (an unknown call, a
failed one, an error) means `operator`, so no caller is dropped by mistake.

Only the Asterisk hosts (AUDIOSOCKET_ALLOWED_PEERS) may call them; the client's address is
read through callcenter.client_address (X-Forwarded-For only from TRUSTED_PROXIES).
"""

import uuid

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from callcenter.client_address import client_address, in_networks, parse_networks
from orders.services import normalize_phone

from .models import Call, CallOutcome, CallStatus

DONE_OUTCOMES = (CallOutcome.ORDER_PLACED, CallOutcome.INFO_GIVEN)


def _from_asterisk(request) -> bool:
    hosts = parse_networks(settings.AUDIOSOCKET_ALLOWED_PEERS, "AUDIOSOCKET_ALLOWED_PEERS")
    return in_networks(client_address(request), hosts)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain; charset=utf-8", status=status)


@require_GET
def call_route(request, call_uuid: uuid.UUID):
    if not _from_asterisk(request):
        return HttpResponseForbidden("not an Asterisk host")
    outcome = Call.objects.filter(uuid=call_uuid).values_list("outcome", flat=True).first()
    if outcome is None:
        return _text("operator", status=404)
    return _text("done" if outcome in DONE_OUTCOMES else "operator")


@csrf_exempt  # called by Asterisk's CURL(), which has no session; the allow-list guards it
@require_POST
def call_caller(request, call_uuid: uuid.UUID):
    if not _from_asterisk(request):
        return HttpResponseForbidden("not an Asterisk host")
    raw = request.POST.get("number", "").strip()
    number = normalize_phone(raw) if raw else ""
    if raw and number is None:
        number = raw[:32]  # an internal extension or a withheld number: keep it as given
    # Announced, not in progress: a call that never connects is no live call (calls.reconcile
    # ends it later). A call that has ended is final and keeps the number it had.
    call, created = Call.objects.get_or_create(
        uuid=call_uuid, defaults={"caller_number": number, "status": CallStatus.ANNOUNCED}
    )
    if not created:
        if call.status == CallStatus.ENDED:
            return _text("ended", status=409)
        Call.objects.filter(pk=call.pk).exclude(status=CallStatus.ENDED).update(
            caller_number=number
        )
    return _text("ok")
