"""Absurd files given to `import_catalog`: each is refused with a message that says why, memory
stays bounded, and nothing is written."""

import io
import tracemalloc
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.importer import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    CatalogImportError,
    import_catalog,
)
from catalog.models import Brand, Tire
from tests.factories import make_tire

pytestmark = pytest.mark.django_db

HEADER = (
    "sku,brand,model,width,profile,rim_diameter,season,load_index,speed_index,studded,price,"
    "stock_quantity"
)
GOOD_ROW = "MI-A6-2055516,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120.50,8"


@pytest.fixture
def existing_tire():
    """A tire already in the catalog: a refused import must leave it exactly as it was."""
    return make_tire(sku="KEEP-ME", price=Decimal("1000.00"), stock_quantity=3)


def _refused(tmp_path, data: bytes, *args: str) -> str:
    """Import `data`; it must be refused with a CommandError. Returns the message."""
    path = tmp_path / "catalog.csv"
    path.write_bytes(data)
    tires, brands = Tire.objects.count(), Brand.objects.count()
    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", str(path), *args, stdout=StringIO())
    message = str(caught.value)
    assert message.startswith("Nothing was imported"), message
    assert (Tire.objects.count(), Brand.objects.count()) == (tires, brands), "nothing written"
    return message


def _file(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode()


def test_binary_garbage_is_refused_as_not_text(tmp_path, existing_tire):
    garbage = bytes(range(256)) * 40 + b"\x89PNG\r\n\x1a\n"
    assert "not valid utf-8" in _refused(tmp_path, garbage)
    # With an 8-bit encoding every byte decodes: the header is then what is wrong.
    assert "NUL" in _refused(tmp_path, garbage, "--encoding", "latin-1")
    assert "Missing column" in _refused(
        tmp_path, bytes(b for b in range(1, 256) if b != 0x98) * 4, "--encoding", "cp1251"
    )
    existing_tire.refresh_from_db()
    assert (existing_tire.price, existing_tire.stock_quantity) == (Decimal("1000.00"), 3)


def test_a_zip_or_xlsx_file_is_refused(tmp_path):
    xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200)
    message = _refused(tmp_path, xlsx)
    assert "NUL" in message or "not valid" in message


def test_a_utf16_file_with_a_bom_is_read(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes("\n".join([HEADER, GOOD_ROW]).encode("utf-16"))
    out = StringIO()
    call_command("import_catalog", str(path), stdout=out)
    assert "1 row(s): 1 tires were created" in out.getvalue()


def test_a_utf16_file_without_a_bom_is_refused_by_name(tmp_path):
    message = _refused(tmp_path, "\n".join([HEADER, GOOD_ROW]).encode("utf-16-le"))
    assert "NUL" in message and "UTF-16" in message


def test_nul_bytes_in_a_cell_are_refused(tmp_path):
    message = _refused(tmp_path, _file(GOOD_ROW.replace("Alpin 6", "Alpin\x006")))
    assert "NUL" in message and "line 2" in message


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.csv"
    # A 50 MB line: written sparsely, so the test does not need 50 MB either.
    with path.open("wb") as file:
        file.write(HEADER.encode() + b"\n")
        file.seek(50 * 2**20)
        file.write(b"x\n")
    tracemalloc.start()
    try:
        with pytest.raises(CommandError, match=r"larger than \d+ MB"):
            call_command("import_catalog", str(path), stdout=StringIO())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MB: the file was read"
    assert Tire.objects.count() == 0


def test_a_stream_over_the_size_limit_is_refused_after_reading_only_the_limit():
    class Endless(io.RawIOBase):
        """Bytes without end, as from a pipe; counts what was asked of it."""

        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            buffer[:] = b"a" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    source = Endless()
    with pytest.raises(CatalogImportError, match="larger than"):
        import_catalog(source)
    assert source.served <= MAX_FILE_BYTES + 2**20


def test_a_2_mb_cell_is_refused_by_the_csv_field_limit(tmp_path):
    # Within the size limit, one absurd cell is refused by the CSV reader's field limit.
    cell = "x" * (2 * 2**20)
    message = _refused(tmp_path, _file(GOOD_ROW.replace("Alpin 6", cell)))
    assert "row 2" in message and "field larger than field limit" in message


def test_a_header_of_100k_columns_is_refused(tmp_path):
    header = HEADER + "," + ",".join(f"c{i}" for i in range(100_000))
    tracemalloc.start()
    try:
        message = _refused(tmp_path, (header + "\n" + GOOD_ROW + "\n").encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"more than {MAX_COLUMNS} columns" in message
    assert peak < 60 * 2**20


def test_a_row_of_100k_cells_is_refused_by_its_row(tmp_path):
    message = _refused(tmp_path, _file(GOOD_ROW + "," * 100_000))
    assert "row 2: 100012 cells but the header has 12 columns" in message


@pytest.mark.parametrize(
    "formula", ['=HYPERLINK("http://evil","x")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3"]
)
def test_spreadsheet_formulas_in_text_cells_are_refused(tmp_path, formula):
    row = GOOD_ROW.replace("Alpin 6", f'"{formula.replace(chr(34), chr(34) * 2)}"')
    message = _refused(tmp_path, _file(row))
    assert "row 2, model" in message and "formula" in message


def test_a_formula_in_a_number_cell_is_not_a_number(tmp_path):
    assert "row 2, width: '=200+5' is not a whole number" in _refused(
        tmp_path, _file(GOOD_ROW.replace(",205,", ",=200+5,"))
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Alpin 6", "A" * 10_000, "row 2, model: Ensure this value has at most 120 characters"),
        ("Michelin", "M" * 10_000, "row 2, brand: is longer than 80 characters"),
        ("MI-A6-2055516", "S" * 10_000, "row 2, sku: is longer than 64 characters"),
        (",8", ",-5", "row 2, stock_quantity"),
        (",8", ",99999999999999999999999999", "row 2, stock_quantity"),
        (",5120.50,", ",-1,", "row 2, price"),
        (",5120.50,", ",1e999999,", "row 2, price"),
        (",5120.50,", ",NaN,", "row 2, price"),
        (",5120.50,", ",Infinity,", "row 2, price"),
        (",5120.50,", ",99999999999999999999.99,", "row 2, price"),
        (",205,", ",-205,", "row 2, width"),
        (",205,", ",2050000000000000000000,", "row 2, width"),
        (",91,", ",9.5,", "row 2, load_index: '9.5' is not a whole number"),
        (",winter,", ",1,", "row 2, season: '1' is not summer, winter or all-season"),
        (",H,", ",HH,", "row 2, speed_index"),
        (",no,", ",maybe,", "row 2, studded: 'maybe' is not yes or no"),
    ],
)
def test_absurd_values_are_refused_by_row_and_column(tmp_path, existing_tire, old, new, expected):
    message = _refused(tmp_path, _file(GOOD_ROW.replace(old, new, 1)))
    assert expected in message, message


def test_control_characters_and_sql_in_text_are_kept_as_text_or_refused(tmp_path):
    sql = "Robert'); DROP TABLE catalog_tire;--"
    path = tmp_path / "catalog.csv"
    path.write_bytes(_file(GOOD_ROW.replace("Alpin 6", sql)))
    call_command("import_catalog", str(path), stdout=StringIO())
    assert Tire.objects.get(sku="MI-A6-2055516").model == sql, "stored as text, never run"


def test_a_refused_file_among_many_good_rows_writes_none_of_them(tmp_path, existing_tire):
    rows = [GOOD_ROW.replace("MI-A6-2055516", f"SKU-{i}") for i in range(2000)]
    rows[1500] = rows[1500].replace(",205,", ",\x00,")
    _refused(tmp_path, _file(*rows))
    assert list(Tire.objects.values_list("sku", flat=True)) == ["KEEP-ME"]
