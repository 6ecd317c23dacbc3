"""Nobody gets in who should not: every admin page (reports and the live monitor included) sends
visitors who are not staff to the login page, the live monitor's websocket refuses a handshake
from another origin, the dialplan's endpoints answer Asterisk hosts only, and the login form
is CSRF-protected.

Tested elsewhere and not repeated: the websocket's refusal of anonymous, non-staff and
unpermitted users (tests/calls/test_live_monitor.py), /metrics for outsiders
(tests/test_metrics_web.py).
"""

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import get_resolver, reverse

from callcenter.asgi import application
from calls.models import Call
from tests.factories import make_call, make_staff_user

pytestmark = pytest.mark.django_db

# Pages anyone may see: the login form itself, and logging out (POST only, harmless).
PUBLIC_ADMIN_PAGES = {"/admin/login/", "/admin/logout/"}


def _admin_pages() -> list[str]:
    """Every URL under /admin/, from the URL configuration itself, so a page added later is
    covered without touching this test (placeholders filled with harmless values)."""
    pages = set()
    for _view, regex, _namespace, _name in extract_views_from_urlpatterns(
        get_resolver().url_patterns
    ):
        path = simplify_regex(regex)
        if not path.startswith("/admin/") or path in PUBLIC_ADMIN_PAGES:
            continue
        path = path.replace("<app_label>", "calls").replace("<url>", "no-such-page/")
        pages.add(re.sub(r"<[^>]+>", "1", path))
    return sorted(pages)


ADMIN_PAGES = _admin_pages()


def test_the_pages_checked_include_the_reports_the_live_monitor_and_each_models_pages():
    for name, args in [
        ("admin:index", ()),
        ("admin:calls_call_reports", ()),
        ("live-calls", ()),
        ("admin:orders_order_changelist", ()),
        ("admin:orders_order_change", (1,)),
        ("admin:calls_turn_changelist", ()),
        ("admin:auth_user_changelist", ()),
    ]:
        assert reverse(name, args=args) in ADMIN_PAGES, name
    assert len(ADMIN_PAGES) > 40


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, page):
    response = client.get(page)
    assert response.status_code == 302, page
    assert response["Location"].startswith("/admin/login/?next=")


def test_logged_in_users_who_are_not_staff_are_sent_to_the_login_page(client):
    user = get_user_model().objects.create_user("customer", password="pw", is_staff=False)
    client.force_login(user)
    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/?next="), page


def test_the_login_form_refuses_a_post_without_its_csrf_token():
    make_staff_user(username="manager")
    browser = Client(enforce_csrf_checks=True)
    credentials = {"username": "manager", "password": "correct horse battery"}
    assert browser.post("/admin/login/", credentials).status_code == 403
    assert "_auth_user_id" not in browser.session

    browser.get("/admin/login/")  # sets the CSRF cookie, as a browser showing the form would
    token = browser.cookies["csrftoken"].value
    response = browser.post("/admin/login/", {**credentials, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and "_auth_user_id" in browser.session


# --- The live monitor's websocket ----------------------------------------------------------------


def _permitted_staff():
    user = get_user_model().objects.create_user(
        username=f"operator-{uuid.uuid4().hex[:8]}", password="pw", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_live_calls"))
    return user


async def _handshake(origin: bytes | None) -> bool:
    """A permitted staff member's browser session, opening the socket from `origin`."""
    user = await database_sync_to_async(_permitted_staff)()
    browser = Client()
    await sync_to_async(browser.force_login)(user)
    headers = [
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode()),
    ]
    if origin is not None:
        headers.append((b"origin", origin))
    communicator = WebsocketCommunicator(application, "/ws/live-calls/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [b"https://evil.example", b"http://localhost.evil.example", b"null"],
    ids=["another-site", "a-look-alike-host", "an-opaque-origin"],
)
async def test_a_cross_origin_handshake_is_refused_even_with_a_staff_session(origin):
    """Cross-site websocket hijacking: a page elsewhere opening the socket with the staff
    member's cookie is turned away before the consumer runs."""
    assert await _handshake(origin) is False


@pytest.mark.django_db(transaction=True)
async def test_a_handshake_without_an_origin_is_refused():
    assert await _handshake(None) is False


@pytest.mark.django_db(transaction=True)
async def test_the_same_staff_session_from_an_allowed_host_gets_in():
    assert await _handshake(b"http://localhost") is True


# --- The dialplan's endpoints --------------------------------------------------------------------

OUTSIDERS = ["203.0.113.9", "2001:db8::7", "::ffff:203.0.113.9", "10.0.0.5"]


@pytest.mark.parametrize("address", OUTSIDERS)
def test_the_dialplan_endpoints_refuse_addresses_outside_the_asterisk_allow_list(client, address):
    call_uuid = uuid.uuid4()
    assert client.get(f"/calls/{call_uuid}/route", REMOTE_ADDR=address).status_code == 403
    response = client.post(
        f"/calls/{call_uuid}/caller", {"number": "0671234567"}, REMOTE_ADDR=address
    )
    assert response.status_code == 403
    assert not Call.objects.filter(uuid=call_uuid).exists(), "no call row made for an outsider"


def test_a_forwarded_for_header_does_not_get_an_outsider_in(client):
    """The header counts only from TRUSTED_PROXIES (empty here); tests/test_client_address.py
    and tests/e2e/test_security.py cover a trusted proxy and Daphne as docker-compose runs it."""
    call = make_call()
    response = client.post(
        f"/calls/{call.uuid}/caller",
        {"number": "0671234567"},
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="127.0.0.1",
        HTTP_X_REAL_IP="127.0.0.1",
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.caller_number == ""


def test_an_asterisk_host_on_loopback_is_answered(client):
    call_uuid = uuid.uuid4()
    response = client.post(
        f"/calls/{call_uuid}/caller", {"number": "0671234567"}, REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code == 200
    assert client.get(f"/calls/{call_uuid}/route", REMOTE_ADDR="::1").status_code == 200
