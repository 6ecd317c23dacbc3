"""The settings: embedded defaults with nothing set, PostgreSQL and Redis when configured,
and a production profile that refuses to start without its secrets and passes check --deploy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUR_VARIABLES = {
    "DJANGO_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CALL_LANGUAGE",
    "DJANGO_SETTINGS_MODULE",
}
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-long-random-secret-for-tests-only-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "callcenter.example.com",
}

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "application_name": db.get("OPTIONS", {}).get("application_name"),
    "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
}))
"""


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    clean["ENV_FILE"] = os.devnull  # a developer's own .env must not leak into these checks
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(**env: str) -> dict:
    result = manage("shell", "-c", PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_nothing_set_it_runs_on_the_embedded_defaults():
    found = settings_with()
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"].endswith("db.sqlite3")
    assert found["eager"] is True
    assert found["broker"] == "memory://"
    assert found["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_with_database_and_redis_urls_it_uses_postgresql_and_redis():
    found = settings_with(
        DATABASE_URL="postgres://callcenter:pw@db.internal:5432/shop",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["name"] == "shop"
    assert found["application_name"] == "callcenter"
    assert found["eager"] is False
    assert found["broker"] == "redis://cache.internal:6379/0"
    assert found["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_the_production_profile_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_production_profile_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert settings_with(**PRODUCTION)["debug"] is False


def test_an_unknown_profile_is_refused_by_name():
    result = manage("check", DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV must be 'development' or 'production'" in result.stderr


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_each_supported_language_passes_the_checks(language):
    assert manage("check", CALL_LANGUAGE=language).returncode == 0


def test_an_unsupported_language_stops_start_up_with_check_e001():
    result = manage("check", CALL_LANGUAGE="de")
    assert result.returncode != 0
    assert "callcenter.E001" in result.stderr


def test_env_example_documents_every_variable_the_settings_read():
    import re

    settings_source = (ROOT / "callcenter" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert len(read) > 20
    assert read - documented == set()
