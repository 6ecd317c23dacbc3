"""X-Forwarded-Proto makes Django treat a request as HTTPS (SECURE_PROXY_SSL_HEADER), so only
the proxy that terminated TLS may send it: from any other peer it is dropped, and production's
redirect to HTTPS still happens for a client that claims to have come over TLS."""

import pytest
from django.core.checks import run_checks
from django.test import Client

PROXY = "10.1.0.2"


@pytest.fixture
def production_tls(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]
    settings.ALLOWED_HOSTS = ["shop.example"]


def _get(remote: str, **headers):
    client = Client(REMOTE_ADDR=remote, HTTP_HOST="shop.example")
    return client.get("/admin/login/", **headers)


@pytest.mark.django_db
def test_a_client_claiming_https_over_plain_http_is_still_redirected(production_tls):
    response = _get("203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://shop.example/")


@pytest.mark.django_db
def test_the_trusted_tls_proxy_saying_https_is_believed(production_tls):
    response = _get(PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.mark.django_db
def test_plain_http_through_the_trusted_proxy_is_redirected(production_tls):
    response = _get(PROXY, HTTP_X_FORWARDED_PROTO="http")
    assert response.status_code == 301


def test_production_without_trusted_proxies_warns_about_the_tls_proxy(settings):
    settings.PRODUCTION = True
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = []
    ids = {message.id for message in run_checks()}
    assert "callcenter.W003" in ids
    settings.TRUSTED_PROXIES = [PROXY]
    assert "callcenter.W003" not in {message.id for message in run_checks()}
