"""System checks for the call center's own settings, so a misconfiguration stops start-up early."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from .client_address import parse_networks

SUPPORTED_LANGUAGES = ("uk", "ru", "en")


@register()
def check_call_language(app_configs, **kwargs) -> list[Error]:
    from calls.language_settings import shop_languages

    unknown = [code for code in shop_languages() if code not in SUPPORTED_LANGUAGES]
    if unknown:
        given = ",".join(shop_languages())
        return [
            Error(
                f"CALL_LANGUAGE(S) is {given!r}: {', '.join(map(repr, unknown))} unknown.",
                hint=f"Set CALL_LANGUAGES (or CALL_LANGUAGE) to some of: "
                f"{', '.join(SUPPORTED_LANGUAGES)}, e.g. uk,ru.",
                id="callcenter.E001",
            )
        ]
    return []


@register()
def check_phone_country_code(app_configs, **kwargs) -> list[Error]:
    code = settings.PHONE_DEFAULT_COUNTRY_CODE
    if not (code.isdigit() and 1 <= len(code) <= 3 and not code.startswith("0")):
        return [
            Error(
                f"PHONE_DEFAULT_COUNTRY_CODE is {code!r}.",
                hint="Give the country calling code as 1 to 3 digits, without '+' (e.g. 380).",
                id="callcenter.E002",
            )
        ]
    return []


# The development profile's default in settings.py: known to everyone who has read the code.
DEVELOPMENT_SECRET_KEY = "development-only-insecure-key-never-use-in-production"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 50


@register()
def check_production_secret_key(app_configs, **kwargs) -> list[Error]:
    """In production a weak SECRET_KEY is an error on every start, not only under --deploy:
    whoever knows it can forge sessions (a staff login) and password-reset links."""
    if not getattr(settings, "PRODUCTION", False):
        return []
    key = settings.SECRET_KEY or ""
    if key == DEVELOPMENT_SECRET_KEY:
        problem = "is the development default"
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problem = f"is {len(key)} characters long" if key else "is empty"
    else:
        return []
    return [
        Error(
            f"SECRET_KEY {problem}.",
            hint=f"Set SECRET_KEY to a random string of at least {MIN_SECRET_KEY_LENGTH} "
            "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'.",
            id="callcenter.E003",
        )
    ]


@register()
def check_production_allowed_hosts(app_configs, **kwargs) -> list[Error]:
    if getattr(settings, "PRODUCTION", False) and not settings.ALLOWED_HOSTS:
        return [
            Error(
                "ALLOWED_HOSTS is empty: every request would be refused.",
                hint="Set ALLOWED_HOSTS to the host names the admin is served under.",
                id="callcenter.E004",
            )
        ]
    return []


NETWORK_SETTINGS = ("TRUSTED_PROXIES", "METRICS_ALLOWED_NETWORKS", "AUDIOSOCKET_ALLOWED_PEERS")


@register()
def check_network_lists(app_configs, **kwargs) -> list[Error]:
    """A typo in an allow-list would otherwise surface as a 500 on every request it guards."""
    errors = []
    for name in NETWORK_SETTINGS:
        try:
            parse_networks(getattr(settings, name), name)
        except ImproperlyConfigured as error:
            errors.append(
                Error(
                    str(error),
                    hint="Give addresses or networks, comma-separated (10.0.0.5, 10.1.0.0/16).",
                    id="callcenter.E005",
                )
            )
    return errors


@register(deploy=False)
def check_production_webhook(app_configs, **kwargs) -> list[Warning]:
    """The order webhook carries the customer's name, phone and address."""
    url = settings.NOTIFY_WEBHOOK_URL
    if not (getattr(settings, "PRODUCTION", False) and url):
        return []
    warnings = []
    if not settings.NOTIFY_WEBHOOK_SECRET:
        warnings.append(
            Warning(
                "NOTIFY_WEBHOOK_URL is set but NOTIFY_WEBHOOK_SECRET is empty: orders are "
                "posted unsigned, and the receiver cannot tell them from forgeries.",
                hint="Set NOTIFY_WEBHOOK_SECRET to a long random string shared with the "
                "receiver (docs/security.md, Webhooks).",
                id="callcenter.W001",
            )
        )
    if urlsplit(url).scheme != "https":
        warnings.append(
            Warning(
                "NOTIFY_WEBHOOK_URL is not https://: customers' names, phone numbers and "
                "addresses cross the network in plain text.",
                hint="Use an https:// URL for the webhook.",
                id="callcenter.W002",
            )
        )
    return warnings


@register()
def check_production_tls_proxy(app_configs, **kwargs) -> list[Warning]:
    """In production the TLS proxy's X-Forwarded-Proto counts only from TRUSTED_PROXIES."""
    production = getattr(settings, "PRODUCTION", False)
    if not (production and settings.SECURE_SSL_REDIRECT and not settings.TRUSTED_PROXIES):
        return []
    return [
        Warning(
            "TRUSTED_PROXIES is empty: X-Forwarded-Proto is ignored, so behind a TLS proxy "
            "every request looks like plain HTTP and is redirected to HTTPS again.",
            hint="Set TRUSTED_PROXIES to the address of the proxy that terminates TLS "
            "(docs/security.md, Behind a reverse proxy).",
            id="callcenter.W003",
        )
    ]
