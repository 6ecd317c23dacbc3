"""Imports a shop's catalog from CSV: every row is checked first, then all are written or none.

Shops export from Excel or their accounting software, so the reader accepts what those produce:
UTF-8 with or without a BOM (or another encoding by name), comma or semicolon separators,
prices with a decimal comma and spaces, and season and yes/no words in English, Ukrainian and
Russian. Each bad cell is reported by its spreadsheet row number and column.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Brand, Season, Tire

REQUIRED_COLUMNS = (
    "sku",
    "brand",
    "model",
    "width",
    "profile",
    "rim_diameter",
    "season",
    "load_index",
    "speed_index",
    "price",
    "stock_quantity",
)
OPTIONAL_COLUMNS = ("studded", "is_active")
INTEGER_COLUMNS = ("width", "profile", "rim_diameter", "load_index", "stock_quantity")
TIRE_FIELDS = (*REQUIRED_COLUMNS[2:], *OPTIONAL_COLUMNS)
MAX_REPORTED_ERRORS = 50
# Far above any shop's catalog (tens of thousands of rows), far below what would strain memory:
# the whole file is checked before anything is written, so it is held in memory at once.
MAX_FILE_BYTES = 32 * 2**20
MAX_COLUMNS = 50
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"); "-5" is a number, not one.
_FORMULA_START = re.compile(r"[=@+-]")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")

SEASON_WORDS = {
    Season.SUMMER: {"summer", "літо", "літні", "літня", "лето", "летние", "летняя"},
    Season.WINTER: {"winter", "зима", "зимові", "зимова", "зимние", "зимняя"},
    Season.ALL_SEASON: {
        "all_season",
        "all-season",
        "all season",
        "allseason",
        "всесезонні",
        "всесезонна",
        "всесезонные",
        "всесезонная",
    },
}
TRUE_WORDS = {"yes", "y", "true", "1", "так", "да", "+"}
FALSE_WORDS = {"no", "n", "false", "0", "ні", "нет", "-", ""}


class CatalogImportError(Exception):
    """The file cannot be imported; `errors` lists every problem found, by row and column."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    brands_created: list[str] = field(default_factory=list)


def import_catalog(
    source: str | Path | io.TextIOBase | io.BufferedIOBase,
    *,
    encoding: str = "utf-8-sig",
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> ImportResult:
    """Validate every row, then write them all in one transaction (or nothing, on any error)."""
    text = _read_text(source, encoding)
    rows = _parse_rows(text)
    result = ImportResult(rows=len(rows))
    if dry_run:
        _count_changes(rows, result)
        return result
    with transaction.atomic():
        _write(rows, result, deactivate_missing)
    return result


def _read_text(source, encoding: str) -> str:
    too_big = CatalogImportError(
        [
            f"The file is larger than {MAX_FILE_BYTES // 2**20} MB: it cannot be a tire catalog "
            "(is it the right file?). Split it into smaller files."
        ]
    )
    if isinstance(source, str | Path):
        if Path(source).stat().st_size > MAX_FILE_BYTES:
            raise too_big
        raw = Path(source).read_bytes()
    else:
        raw = source.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise too_big
    if isinstance(raw, str):
        return _text_without_nul(raw)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding.lower().replace(
        "_", "-"
    ).startswith("utf-8"):
        # Excel's "Unicode text" and some accounting exports: the BOM says what it is.
        encoding = "utf-16"
    try:
        return _text_without_nul(raw.decode(encoding))
    except UnicodeDecodeError as error:
        raise CatalogImportError(
            [
                f"The file is not valid {encoding} (byte {error.start}). If it was saved by Excel "
                "in Ukrainian or Russian Windows, try --encoding cp1251."
            ]
        ) from error
    except LookupError as error:
        raise CatalogImportError([f"Unknown encoding {encoding!r}."]) from error


def _text_without_nul(text: str) -> str:
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise CatalogImportError(
            [
                f"The file contains NUL bytes (first on line {line}): it is not a CSV text file. "
                "A spreadsheet (.xlsx) or a UTF-16 file without a BOM? Save it as CSV UTF-8."
            ]
        )
    return text


def _parse_rows(text: str) -> list[dict]:
    if not text.strip():
        raise CatalogImportError(["The file is empty: it needs a header row and tire rows."])
    header_line = io.StringIO(text).readline()
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    if max(header_line.count(";"), header_line.count(",")) >= MAX_COLUMNS:
        raise CatalogImportError(
            [f"The header row has more than {MAX_COLUMNS} columns: is it the right file?"]
        )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [name.strip().lower().replace(" ", "_") for name in next(reader)]
    except csv.Error as error:
        raise CatalogImportError([f"row 1: {error}"]) from error
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise CatalogImportError(
            [
                f"Missing column(s): {', '.join(missing)}. The header row must name: "
                f"{', '.join(REQUIRED_COLUMNS)} (and optionally {', '.join(OPTIONAL_COLUMNS)})."
            ]
        )
    errors: list[str] = []
    rows: list[dict] = []
    seen_skus: dict[str, int] = {}
    for row_number, cells in _rows(reader):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            errors.append(
                f"row {row_number}: {len(cells)} cells but the header has {len(header)} columns"
            )
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        row, row_errors = _convert(values, row_number)
        if row and row["sku"] in seen_skus:
            row_errors.append(
                f"row {row_number}, sku: {row['sku']!r} is already on row {seen_skus[row['sku']]}"
            )
        if row_errors:
            errors.extend(row_errors)
        else:
            seen_skus[row["sku"]] = row_number
            rows.append(row)
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > MAX_REPORTED_ERRORS:
            shown.append(f"... and {len(errors) - MAX_REPORTED_ERRORS} more")
        raise CatalogImportError(shown)
    if not rows:
        raise CatalogImportError(["The file has a header but no tire rows."])
    return rows


def _rows(reader):
    """(row number, cells) of each row; a row the CSV reader cannot read is refused by number."""
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CatalogImportError([f"row {row_number}: {error}"]) from error
        yield row_number, cells


def _convert(values: dict[str, str], row_number: int) -> tuple[dict | None, list[str]]:
    errors: list[str] = []

    def bad(column: str, message: str) -> None:
        errors.append(f"row {row_number}, {column}: {message}")

    row: dict = {}
    for column in ("sku", "brand", "model"):
        row[column] = values.get(column, "")
        if not row[column]:
            bad(column, "is empty")
        elif _FORMULA_START.match(row[column]) and not _PLAIN_NUMBER.fullmatch(row[column]):
            bad(column, f"{row[column][:40]!r} looks like a spreadsheet formula, not a name")
    for column in INTEGER_COLUMNS:
        raw = values.get(column, "")
        try:
            row[column] = int(raw.replace(" ", ""))
        except ValueError:
            bad(column, f"{raw!r} is not a whole number")
    row["season"] = _season(values.get("season", ""))
    if row["season"] is None:
        bad("season", f"{values.get('season', '')!r} is not summer, winter or all-season")
    row["speed_index"] = values.get("speed_index", "").upper()
    try:
        row["price"] = Decimal(
            values.get("price", "").replace(" ", "").replace("\xa0", "").replace(",", ".")
        )
    except InvalidOperation:
        bad("price", f"{values.get('price', '')!r} is not a price")
    for column, default in (("studded", False), ("is_active", True)):
        raw = values.get(column, "")
        value = _yes_no(raw) if raw else default
        if value is None:
            bad(column, f"{raw!r} is not yes or no")
        row[column] = value
    if errors:
        return None, errors
    # The model's own rules (ranges, choices, studded only in winter) are the final word.
    tire = Tire(brand=Brand(name=row["brand"]), **{k: row[k] for k in ("sku", *TIRE_FIELDS)})
    if tire.studded and tire.season != Season.WINTER:
        bad("studded", "only winter tires can be studded")
        return None, errors
    try:
        # The table's check constraints repeat rules checked above or by the field validators.
        tire.full_clean(exclude=["brand", "sku"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for column, messages in error.message_dict.items():
            bad(column, " ".join(messages))
        return None, errors
    if len(row["sku"]) > Tire._meta.get_field("sku").max_length:
        bad("sku", "is longer than 64 characters")
        return None, errors
    if len(row["brand"]) > Brand._meta.get_field("name").max_length:
        bad("brand", "is longer than 80 characters")
        return None, errors
    return row, errors


def _season(word: str) -> str | None:
    word = word.strip().lower()
    for season, words in SEASON_WORDS.items():
        if word in words:
            return season
    return None


def _yes_no(word: str) -> bool | None:
    word = word.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _tire_values(row: dict) -> dict:
    return {name: row[name] for name in TIRE_FIELDS}


def _differs(tire: Tire, values: dict, brand_name: str) -> bool:
    return tire.brand.name.lower() != brand_name.lower() or any(
        getattr(tire, name) != value for name, value in values.items()
    )


def _count_changes(rows: list[dict], result: ImportResult) -> None:
    existing = Tire.objects.select_related("brand").in_bulk(
        [row["sku"] for row in rows], field_name="sku"
    )
    known_brands = set(Brand.objects.values_list("name", flat=True))
    for row in rows:
        tire = existing.get(row["sku"])
        if tire is None:
            result.created += 1
        elif _differs(tire, _tire_values(row), row["brand"]):
            result.updated += 1
        else:
            result.unchanged += 1
    result.brands_created = sorted({row["brand"] for row in rows} - known_brands)


def _write(rows: list[dict], result: ImportResult, deactivate_missing: bool) -> None:
    brands = {brand.name.lower(): brand for brand in Brand.objects.all()}
    for name in sorted({row["brand"] for row in rows}):
        if name.lower() not in brands:
            brands[name.lower()] = Brand.objects.create(name=name)
            result.brands_created.append(name)
    existing = Tire.objects.select_related("brand").in_bulk(
        [row["sku"] for row in rows], field_name="sku"
    )
    to_create, to_update = [], []
    now = timezone.now()
    for row in rows:
        brand = brands[row["brand"].lower()]
        values = _tire_values(row)
        tire = existing.get(row["sku"])
        if tire is None:
            to_create.append(Tire(sku=row["sku"], brand=brand, **values))
        elif _differs(tire, values, brand.name):
            tire.brand = brand
            for name, value in values.items():
                setattr(tire, name, value)
            tire.updated_at = now  # bulk_update does not apply auto_now
            to_update.append(tire)
        else:
            result.unchanged += 1
    Tire.objects.bulk_create(to_create, batch_size=500)
    Tire.objects.bulk_update(to_update, ["brand", *TIRE_FIELDS, "updated_at"], batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    if deactivate_missing:
        result.deactivated = (
            Tire.objects.filter(is_active=True)
            .exclude(sku__in=[row["sku"] for row in rows])
            .update(is_active=False)
        )
