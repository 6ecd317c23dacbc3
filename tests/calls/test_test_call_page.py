"""The admin's Test call page: who may open it, where staff find it, and what it offers (the
shop's languages, the real-orders switch off). The browser's side, the microphone and the
websocket, is tested in tests/e2e/test_test_call_browser.py."""

import re

import pytest
from django.urls import reverse

from calls.playground import SOCKET_PATH, TEST_CALL_PERMISSION
from tests.factories import make_staff_member, make_staff_user

pytestmark = pytest.mark.django_db

PAGE = "/admin/test-call/"


def test_the_page_lives_under_the_admin():
    assert reverse("test-call") == PAGE


def test_staff_allowed_to_place_test_calls_open_the_page(client):
    client.force_login(make_staff_member(permissions=(TEST_CALL_PERMISSION,)))
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="tc-start"' in page and 'id="tc-hangup"' in page
    assert f'data-socket-path="{SOCKET_PATH}"' in page
    assert 'data-worklet-url="/static/calls/test_call_worklet.js"' in page
    assert all(f'data-digit="{key}"' in page for key in "0123456789*#")
    # Real orders are opt-in: the box is not ticked.
    box = re.search(r'<input type="checkbox" id="tc-real-orders"[^>]*>', page).group(0)
    assert "checked" not in box


def test_superusers_open_the_page(client):
    client.force_login(make_staff_user())
    assert client.get(PAGE).status_code == 200


def test_staff_without_the_permission_are_refused(client):
    # Operators may watch live calls and read every call, but not talk to the bot.
    client.force_login(make_staff_member("Operators"))
    assert client.get(PAGE).status_code == 403


def test_managers_may_place_test_calls(client):
    client.force_login(make_staff_member("Managers"))
    assert client.get(PAGE).status_code == 200


def test_the_language_choice_lists_the_shops_languages(client, settings):
    settings.CALL_LANGUAGES = ["uk", "ru"]
    settings.CALL_LANGUAGE = "uk"
    client.force_login(make_staff_user())
    page = client.get(PAGE).content.decode()
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', page)
    assert options == [("", "Shop default (Ukrainian)"), ("uk", "Ukrainian"), ("ru", "Russian")]


def test_the_calls_section_links_to_the_page_for_those_allowed(client):
    client.force_login(make_staff_member("Operators", permissions=(TEST_CALL_PERMISSION,)))
    for section in ("/admin/", "/admin/calls/", "/admin/calls/call/"):
        assert f'href="{PAGE}"' in client.get(section).content.decode(), section


def test_the_link_is_there_even_for_staff_who_see_no_call_records(client):
    client.force_login(make_staff_member(permissions=(TEST_CALL_PERMISSION,)))
    assert f'href="{PAGE}"' in client.get("/admin/").content.decode()
    assert client.get("/admin/calls/").status_code == 200


def test_no_link_for_staff_not_allowed(client):
    client.force_login(make_staff_member("Operators"))
    for section in ("/admin/", "/admin/calls/", "/admin/calls/call/"):
        assert PAGE not in client.get(section).content.decode(), section
