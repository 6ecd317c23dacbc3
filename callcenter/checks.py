"""System checks for the call center's own settings, so a misconfiguration stops start-up early."""

from django.conf import settings
from django.core.checks import Error, register

SUPPORTED_LANGUAGES = ("uk", "ru", "en")


@register()
def check_call_language(app_configs, **kwargs) -> list[Error]:
    if settings.CALL_LANGUAGE not in SUPPORTED_LANGUAGES:
        return [
            Error(
                f"CALL_LANGUAGE is {settings.CALL_LANGUAGE!r}.",
                hint=f"Set CALL_LANGUAGE to one of: {', '.join(SUPPORTED_LANGUAGES)}.",
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
