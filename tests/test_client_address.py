"""The client's address for the allow-lists: X-Forwarded-For counts only from TRUSTED_PROXIES,
read from the right, so a client cannot write its way onto an allow-list."""

import pytest
from django.test import RequestFactory

from callcenter.client_address import client_address

PROXY = "10.1.0.2"


def _address(remote: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    found = client_address(request)
    return str(found) if found is not None else None


@pytest.fixture(autouse=True)
def _one_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _address("203.0.113.9", "127.0.0.1") == "203.0.113.9"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_forge_its_address():
    assert _address("203.0.113.9", "127.0.0.1") == "203.0.113.9"


def test_the_trusted_proxy_names_the_client():
    assert _address(PROXY, "198.51.100.4") == "198.51.100.4"


def test_what_the_client_wrote_before_the_proxy_appended_is_ignored():
    # nginx's $proxy_add_x_forwarded_for appends the peer it saw to what the client sent.
    assert _address(PROXY, "127.0.0.1, 198.51.100.4") == "198.51.100.4"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop(settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32", "10.2.0.0/16"]
    assert _address(PROXY, "127.0.0.1, 198.51.100.4, 10.2.3.4") == "198.51.100.4"


def test_a_trusted_proxy_without_the_header_is_the_client():
    assert _address(PROXY) == PROXY


def test_a_garbled_header_from_the_proxy_gives_no_address():
    assert _address(PROXY, "127.0.0.1, not-an-address") is None


def test_ipv4_mapped_addresses_are_read_as_ipv4():
    assert _address("::ffff:203.0.113.9") == "203.0.113.9"
    assert _address(f"::ffff:{PROXY}", "::ffff:198.51.100.4") == "198.51.100.4"


@pytest.mark.django_db
def test_metrics_and_the_dialplan_endpoints_believe_only_the_trusted_proxy(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.AUDIOSOCKET_ALLOWED_PEERS = ["127.0.0.0/8"]
    forged = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}
    vouched = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "127.0.0.1"}
    route = "/calls/00000000-0000-0000-0000-000000000001/route"
    assert client.get("/metrics", **forged).status_code == 403
    assert client.get(route, **forged).status_code == 403
    assert client.get("/metrics", **vouched).status_code == 200
    assert client.get(route, **vouched).status_code == 404  # allowed in; no such call
