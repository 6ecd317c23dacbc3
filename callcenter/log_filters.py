"""A logging filter that masks phone numbers, so callers' numbers never reach the logs in full."""

import logging
import re

# A run of digits that may be written with spaces, dashes, dots or brackets, optionally after "+".
_PHONE_LIKE = re.compile(r"(?<![\w+(-])\+?\(?\d[\d ().-]{5,}\d(?![\w-])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def mask_phone_numbers(text: str) -> str:
    """Replace every phone-like number (9 to 15 digits) with a mask keeping its last two digits."""

    def mask(match: re.Match[str]) -> str:
        found = match.group(0)
        digits = re.sub(r"\D", "", found)
        if not 9 <= len(digits) <= 15 or _ISO_DATE.match(found):
            return found
        prefix = "+" if found.startswith("+") else ""
        return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"

    return _PHONE_LIKE.sub(mask, text)


class MaskPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
