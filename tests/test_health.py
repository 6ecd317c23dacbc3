"""/healthz tells Docker and load balancers whether the web process can serve."""

import pytest
from django.conf import settings

from callcenter import health


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == ("ok" if settings.REDIS_URL else "not configured")


@pytest.mark.django_db
def test_healthz_answers_503_and_names_the_failing_part(client, settings, monkeypatch):
    # Point the Redis check at a port nobody listens on: a real failed connection, not a fake.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ConnectionError")
    assert set(body["checks"]) == set(health.CHECKS)
