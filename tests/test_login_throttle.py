"""The admin login is throttled: after a few wrong passwords for one username from one address
even the right password is refused for a while, a forged X-Forwarded-For cannot dodge it, and
a staff login lasts one shift."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories' staff password
ATTACKER = "203.0.113.9"


@pytest.fixture
def manager():
    return make_staff_user(username="manager")


def _login(client: Client, password: str, address: str = ATTACKER, **headers):
    response = client.post(
        "/admin/login/",
        {"username": "manager", "password": password},
        REMOTE_ADDR=address,
        **headers,
    )
    return response, "_auth_user_id" in client.session


def test_the_right_password_after_39_wrong_ones_is_refused(client, manager):
    """The review's finding: 39 wrong passwords, then the right one logged in."""
    for n in range(39):
        _login(client, f"guess-{n}")
    response, logged_in = _login(client, PASSWORD)
    assert not logged_in
    assert response.status_code == 429


def test_the_lock_out_starts_at_the_configured_limit(client, manager):
    limit = django_settings.AXES_FAILURE_LIMIT
    assert 3 <= limit <= 10
    for n in range(limit - 1):
        response, _ = _login(client, f"guess-{n}")
        assert response.status_code == 200  # the form again, with its error
    response, logged_in = _login(client, PASSWORD)
    assert logged_in, "a few typos do not lock anyone out"
    client.logout()
    for n in range(limit):
        _login(client, f"guess-{n}")
    response, logged_in = _login(client, PASSWORD)
    assert (response.status_code, logged_in) == (429, False)


def test_the_same_username_from_another_address_still_logs_in(client, manager):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess-{n}")
    _response, logged_in = _login(Client(), PASSWORD, address="198.51.100.20")
    assert logged_in, "a stranger's guesses do not lock the manager out of the office"


def test_the_lock_out_ends_after_the_cool_off(client, manager):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess-{n}")
    assert _login(client, PASSWORD)[0].status_code == 429
    past = timezone.now() - django_settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=past)
    assert _login(client, PASSWORD)[1]


def test_a_forged_forwarded_for_does_not_dodge_the_lock_out(client, manager, settings):
    settings.TRUSTED_PROXIES = ["10.1.0.2/32"]
    for n in range(django_settings.AXES_FAILURE_LIMIT + 3):
        _login(client, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response, logged_in = _login(client, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert (response.status_code, logged_in) == (429, False)


def test_behind_the_trusted_proxy_each_client_is_counted_on_its_own(client, manager, settings):
    settings.TRUSTED_PROXIES = ["10.1.0.2/32"]
    via_proxy = {"address": "10.1.0.2"}
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess-{n}", HTTP_X_FORWARDED_FOR=ATTACKER, **via_proxy)
    locked = _login(client, PASSWORD, HTTP_X_FORWARDED_FOR=ATTACKER, **via_proxy)
    assert locked[0].status_code == 429
    office = _login(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.20", **via_proxy)
    assert office[1], "another client behind the same proxy is not locked out"


def test_a_staff_login_lasts_one_shift(client, manager):
    assert django_settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    response, logged_in = _login(client, PASSWORD)
    assert logged_in
    assert response.cookies["sessionid"]["max-age"] == 8 * 60 * 60
