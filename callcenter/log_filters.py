"""Personal data kept out of the logs: a filter that masks phone numbers and database row
details in every record, and helpers that mask names, addresses and callers' words at the call
site (no filter can tell a name from any other word)."""

import logging
import re

# A run of digits that may be written with spaces, dashes, dots or brackets, optionally after "+".
_PHONE_LIKE = re.compile(r"(?<![\w+(-])\+?\(?\d[\d ().-]{5,}\d(?![\w-])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# PostgreSQL's error details quote the values of the row or key that broke a constraint
# ("Failing row contains (..., Olena Kovalenko, ...)", "Key (phone)=(+380...) already exists").
_FAILING_ROW = re.compile(r"(Failing row contains )\(.*\)")
_KEY_VALUES = re.compile(r"(Key \([^)]*\)=)\(.*?\)(?= already exists| is not present| conflicts)")
# A word with at least one letter: numbers (an order's, a total, a house) are left alone.
_WORD = re.compile(r"\w*[^\W\d_]\w*")


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


def mask_row_values(text: str) -> str:
    """Hide the column values a database error quotes; the constraint's name stays readable."""
    text = _FAILING_ROW.sub(r"\1(...)", text)
    return _KEY_VALUES.sub(r"\1(...)", text)


def mask_words(text: str) -> str:
    """Each word cut to its first character and three stars, and phone numbers masked, so the
    shape of the text stays and its content goes: what a caller said, the bot's reply, an SMS."""
    return _WORD.sub(lambda match: f"{match.group(0)[0]}***", mask_phone_numbers(text))


def mask_name(name: str) -> str:
    """A customer's name or delivery address as it may appear in a log line:
    mask_name("Olena Kovalenko") == "O*** K***"."""
    return mask_words(name)


def mask_personal_data(text: str) -> str:
    return mask_row_values(mask_phone_numbers(text))


class MaskPersonalData(logging.Filter):
    """On a handler: masks phone numbers and database row values in the message and in the
    traceback of every record that passes (a traceback quotes the exception's message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the masked traceback is what they print.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True


class MaskPhoneNumbers(MaskPersonalData):
    """The name settings.LOGGING has used since phone numbers were the only thing masked."""


# What Celery's success line may show of a task's return value: a number, a truth value, None.
_PLAIN_RESULT = re.compile(r"-?\d+(\.\d+)?|True|False|None")


class HideTaskResults(logging.Filter):
    """On a handler: Celery logs "Task … succeeded in 0.01s: <what the task returned>"; a task
    that returns text (a summary quoting the caller, say) would put it in the log. Numbers and
    truth values stay readable; anything else is hidden, whatever a future task returns."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = record.args
        if record.name == "celery.app.trace" and isinstance(context, dict):
            value = context.get("return_value")
            if isinstance(value, str) and not _PLAIN_RESULT.fullmatch(value):
                # Celery passes the same dict as `extra={"data": ...}` for custom handlers.
                record.args = {**context, "return_value": "(hidden)"}
                if getattr(record, "data", None) is context:
                    record.data = record.args
        return True
