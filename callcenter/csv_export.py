"""Streams rows to staff as a CSV file that Excel opens as UTF-8 and cannot run as formulas."""

import csv
import datetime
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"  # Without it Excel reads UTF-8 as the local code page and garbles Cyrillic.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class _Echo:
    """A file-like object for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str:
    """One value as text for the sheet: local times, and text a spreadsheet will not execute."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    # A leading apostrophe makes spreadsheets treat the cell as text, not a formula (OWASP
    # "CSV injection"). A bare number such as a phone "+380671234567" carries no formula.
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_response(
    request: HttpRequest, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A download of `rows` under `header`, written as the client reads it (never all in memory).

    `rows` may be a lazy query: it is read while the response is sent.
    """
    lines = _lines(header, rows)
    # Under ASGI (Daphne) Django would collect a sync iterator into one list before sending;
    # an async iterator that pulls batches from the request's sync thread streams for real.
    content = _from_sync_thread(lines) if hasattr(request, "scope") else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


async def _from_sync_thread(lines: Iterator[str], batch: int = 500) -> AsyncIterator[str]:
    # thread_sensitive: every batch runs on the request's one sync thread, where the query's
    # connection and cursor live; the ORM is never touched from the event loop.
    take = sync_to_async(lambda: list(itertools.islice(lines, batch)), thread_sensitive=True)
    while chunk := await take():
        yield "".join(chunk)


def dated_filename(prefix: str) -> str:
    return f"{prefix}-{timezone.localtime():%Y%m%d-%H%M}.csv"
