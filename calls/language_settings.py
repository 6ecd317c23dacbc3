"""The shop's languages as configured: CALL_LANGUAGES, or CALL_LANGUAGE alone as its shorthand."""

from django.conf import settings


def shop_languages() -> tuple[str, ...]:
    """The languages callers may speak, the greeting's first. CALL_LANGUAGE given alone (or
    changed alone, as a test may) is the shorthand for one language."""
    languages = tuple(getattr(settings, "CALL_LANGUAGES", ()) or ())
    if not languages or languages[0] != settings.CALL_LANGUAGE:
        return (settings.CALL_LANGUAGE,)
    return languages
