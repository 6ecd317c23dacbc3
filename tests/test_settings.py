"""The settings: embedded defaults with nothing set, PostgreSQL and Redis when configured,
and a production profile that refuses to start without its secrets and passes check --deploy."""

import json
import os
import re
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
    "CHANNEL_LAYER_PREFIX",
    "CALL_LANGUAGE",
    "DJANGO_SETTINGS_MODULE",
    "TRUSTED_PROXIES",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_WEBHOOK_SECRET",
}
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-long-random-secret-for-tests-only-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "callcenter.example.com",
    # The TLS proxy in front of Daphne (deploy/nginx): its X-Forwarded-Proto is believed.
    "TRUSTED_PROXIES": "172.28.0.10",
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
    "channel_layer_prefix": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix"),
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
    assert found["channel_layer_prefix"] == "asgi"  # channels_redis's own default
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_the_channel_layer_prefix_can_be_set():
    found = settings_with(REDIS_URL="redis://cache.internal:6379/0", CHANNEL_LAYER_PREFIX="shop2")
    assert found["channel_layer_prefix"] == "shop2"


def test_each_test_worker_has_a_channel_layer_of_its_own(settings):
    """Under pytest-xdist, one worker's live calls must not reach the other's sockets; the
    servers the tests start inherit the prefix through the environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or "CONFIG" not in settings.CHANNEL_LAYERS["default"]:
        pytest.skip("only under pytest-xdist with the Redis channel layer")
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    assert prefix.endswith(f"-{worker}")
    assert os.environ["CHANNEL_LAYER_PREFIX"] == prefix


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


# --- The production profile: who gets in -------------------------------------------------------

PRINT_SECURITY = """
import json
from django.conf import settings
from calls.management.commands.run_audiosocket import Command
from django.core.management import CommandParser
parser = CommandParser()
Command().add_arguments(parser)
config = Command.build_config(vars(parser.parse_args([])))
print(json.dumps({
    "debug": settings.DEBUG,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts_seconds": settings.SECURE_HSTS_SECONDS,
    "x_frame_options": settings.X_FRAME_OPTIONS,
    "audiosocket_host": config.host,
    "audiosocket_allowed_peers": [str(network) for network in config.allowed_peers],
    "audiosocket_metrics_host": config.metrics_host,
}))
"""


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_a_missing_production_secret_stops_start_up_naming_the_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.mark.parametrize(
    ("secret_key", "problem"),
    [
        ("development-only-insecure-key-never-use-in-production", "is the development default"),
        ("too-short-to-be-a-secret", "is 24 characters long"),
    ],
)
def test_a_weak_production_secret_key_is_refused_with_check_e003(secret_key, problem):
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": secret_key})
    assert result.returncode != 0
    assert "callcenter.E003" in result.stderr and f"SECRET_KEY {problem}" in result.stderr


def test_e003_knows_the_development_profiles_default_key():
    from callcenter.checks import DEVELOPMENT_SECRET_KEY

    result = manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)")
    assert result.stdout.strip().splitlines()[-1] == DEVELOPMENT_SECRET_KEY
    assert manage("check").returncode == 0, "the development profile may keep it"


def test_empty_allowed_hosts_in_production_is_refused_with_check_e004():
    result = manage("check", **{**PRODUCTION, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "callcenter.E004" in result.stderr


def test_production_turns_debug_off_and_cookies_secure_and_keeps_the_audiosocket_on_loopback():
    result = manage("shell", "-c", PRINT_SECURITY, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["debug"] is False
    assert found["session_cookie_secure"] and found["csrf_cookie_secure"]
    assert found["session_cookie_httponly"]
    assert found["ssl_redirect"] and found["hsts_seconds"] >= 60 * 60 * 24 * 30
    assert found["x_frame_options"] == "DENY"
    # AudioSocket has no authentication: unless told otherwise, only this host can reach it.
    assert found["audiosocket_host"] == "127.0.0.1"
    assert found["audiosocket_allowed_peers"] == ["127.0.0.0/8", "::1/128"]
    assert found["audiosocket_metrics_host"] == "127.0.0.1"


@pytest.mark.parametrize("debug", ["true", "True", "1", "on"])
def test_debug_switched_on_in_production_stops_start_up(debug):
    """Not only a --deploy warning (security.W018): Daphne runs no checks at all."""
    result = manage("check", **{**PRODUCTION, "DEBUG": debug})
    assert result.returncode != 0
    assert "DEBUG is on in production" in result.stderr


@pytest.mark.parametrize("hosts", ["*", "callcenter.example.com,*"])
def test_a_wildcard_allowed_host_in_production_stops_start_up(hosts):
    """'*' would also let any site open the live monitor's websocket (no Origin check)."""
    result = manage("check", **{**PRODUCTION, "ALLOWED_HOSTS": hosts})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS contains '*' in production" in result.stderr


def test_the_development_profile_still_accepts_debug_and_any_host():
    assert manage("check", DEBUG="true", ALLOWED_HOSTS="*").returncode == 0


def _dockerfile() -> tuple[dict[str, str], list[str]]:
    """The environment the image sets (ENV) and its default command (CMD)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env, command = {}, []
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line.split()[1:])
        elif line.startswith("CMD "):
            command = json.loads(line[4:])
    return env, command


def test_the_images_default_command_runs_the_production_profile():
    env, command = _dockerfile()
    assert env.get("DJANGO_ENV") == "production"
    assert command[0] == "daphne"
    assert (
        settings_with(**env, **{k: v for k, v in PRODUCTION.items() if k != "DJANGO_ENV"})["debug"]
        is False
    )


def test_the_images_default_command_refuses_to_serve_with_debug_on():
    """The review's finding: the image's default command served DEBUG pages on 0.0.0.0.
    Daphne is started with the image's environment and command (on a loopback port here)."""
    env, command = _dockerfile()
    assert command[0] == "daphne"
    flags = [arg for arg in command[1:] if not arg.endswith(":application")]
    flags[flags.index("--bind") + 1] = "127.0.0.1"
    flags[flags.index("--port") + 1] = "0"
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    secrets = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ENV"}
    result = subprocess.run(
        [sys.executable, "-m", "daphne", *flags, "callcenter.asgi:application"],
        cwd=ROOT,
        env={**clean, **env, **secrets, "DEBUG": "true", "ENV_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, "Daphne started with DEBUG on"
    assert "DEBUG is on in production" in result.stderr


def test_the_documented_production_configuration_passes_check_deploy():
    """.env.example as a shop would fill it in: every setting added since (notifications, mail,
    metrics, engines) on its documented value, and still no deploy warning."""
    env = {**PRODUCTION, "ENV_FILE": str(ROOT / ".env.example")}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = manage("shell", "-c", PRINT_SECURITY, **env)
    assert json.loads(shown.stdout.strip().splitlines()[-1])["debug"] is False


# --- No secret is committed ---------------------------------------------------------------------

SECRET_LOOKING = {
    "an OpenAI-style API key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "an AWS secret key": re.compile(r"aws_secret_access_key\s*[=:]\s*\S{20,}", re.I),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}


def secrets_in(text: str) -> list[str]:
    return [kind for kind, pattern in SECRET_LOOKING.items() if pattern.search(text)]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)


def _files_git_would_commit() -> list[Path]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = _git("ls-files", "--cached", "--others", "--exclude-standard", "-z")
    assert listed.returncode == 0, listed.stderr
    return [ROOT / name for name in listed.stdout.split("\0") if name]


def test_the_secret_patterns_catch_what_they_are_meant_to():
    # Built at run time, so this file holds no secret-looking literal itself.
    planted = [
        "OPENAI_API_KEY=sk-" + "a1B2" * 12,
        "key = 'AKIA" + "ABCDEFGHIJ234567'",
        "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
        "GOOGLE_API_KEY=AIza" + "x" * 35,
    ]
    for line in planted:
        assert secrets_in(line), line
    assert secrets_in("OPENAI_API_KEY=\nSECRET_KEY=\nsk-learn is a library") == []


def test_no_secret_looking_literal_is_committed():
    found = []
    for path in _files_git_would_commit():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files, and files deleted in the working tree
        found += [f"{path.relative_to(ROOT)}: {kind}" for kind in secrets_in(text)]
    assert found == []


def test_the_local_env_file_is_ignored_by_git_and_not_tracked():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert _git("check-ignore", "--quiet", ".env").returncode == 0
    assert _git("ls-files", "--error-unmatch", ".env").returncode != 0


def test_a_bad_trusted_proxy_entry_is_refused_with_check_e005_naming_the_setting():
    result = manage("check", TRUSTED_PROXIES="10.0.0.5,nginx")
    assert result.returncode != 0
    assert "callcenter.E005" in result.stderr and "TRUSTED_PROXIES: 'nginx'" in result.stderr


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        ("https://hooks.example.com/orders", "", {"callcenter.W001"}),
        ("http://hooks.example.com/orders", "a-long-shared-secret", {"callcenter.W002"}),
        ("http://hooks.example.com/orders", "", {"callcenter.W001", "callcenter.W002"}),
        ("https://hooks.example.com/orders", "a-long-shared-secret", set()),
    ],
)
def test_an_unsigned_or_plain_http_webhook_in_production_is_warned_about(url, secret, expected):
    env = {**PRODUCTION, "NOTIFY_WEBHOOK_URL": url, "NOTIFY_WEBHOOK_SECRET": secret}
    result = manage("check", "--fail-level", "WARNING", **env)
    found = set(re.findall(r"callcenter\.W00\d", result.stdout + result.stderr))
    assert found == expected
    assert (result.returncode != 0) == bool(expected)
