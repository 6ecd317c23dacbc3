"""Importing a shop's CSV: what shops' spreadsheets really contain goes in; a bad file changes
nothing and names every bad row and column."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Tire
from tests.factories import make_tire

pytestmark = pytest.mark.django_db

HEADER = (
    "sku,brand,model,width,profile,rim_diameter,season,load_index,speed_index,studded,price,"
    "stock_quantity"
)


def _import(tmp_path, text: str, *args: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "catalog.csv"
    path.write_bytes(text.encode(encoding))
    out = StringIO()
    call_command("import_catalog", str(path), *args, stdout=out)
    return out.getvalue()


def test_a_good_file_creates_every_tire_with_its_values(tmp_path):
    output = _import(
        tmp_path,
        "\n".join(
            [
                HEADER,
                "MI-A6-2055516,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120.50,8",
                "NO-H10-2055516,Nokian Tyres,Hakkapeliitta 10,205,55,16,winter,94,T,yes,6400,4",
            ]
        ),
    )
    assert "2 row(s): 2 tires were created" in output
    alpin = Tire.objects.get(sku="MI-A6-2055516")
    assert (alpin.brand.name, alpin.size, alpin.season, alpin.price, alpin.stock_quantity) == (
        "Michelin",
        "205/55 R16",
        "winter",
        Decimal("5120.50"),
        8,
    )
    assert Tire.objects.get(sku="NO-H10-2055516").studded is True


def test_an_excel_export_in_cp1251_with_semicolons_and_ukrainian_words_is_read(tmp_path):
    text = "\r\n".join(
        [
            "SKU;Brand;Model;Width;Profile;Rim diameter;Season;Load index;Speed index;Studded;"
            "Price;Stock quantity",
            "RO-SG-1856515;Росава;Snowgard;185;65;15;зима;88;t;так;2 150,00;12",
            "RO-IT-1856515;Росава;Itegro;185;65;15;літо;88;h;ні;1 980,50;0",
            "PR-SP-1956515;Premiorri;Solazo;195;65;15;всесезонні;91;H;;2 010;6",
        ]
    )
    output = _import(tmp_path, text, "--encoding", "cp1251", encoding="cp1251")
    assert "3 row(s): 3 tires were created" in output
    snowgard = Tire.objects.get(sku="RO-SG-1856515")
    assert (snowgard.brand.name, snowgard.season, snowgard.studded, snowgard.price) == (
        "Росава",
        "winter",
        True,
        Decimal("2150.00"),
    )
    assert snowgard.speed_index == "T"
    assert Tire.objects.get(sku="RO-IT-1856515").price == Decimal("1980.50")
    assert Tire.objects.get(sku="PR-SP-1956515").season == "all_season"


def test_a_utf8_bom_does_not_hide_the_first_column(tmp_path):
    text = (
        "\ufeff"
        + HEADER
        + "\nMI-PS5-2254517,Michelin,Pilot Sport 5,225,45,17,summer,94,Y,no,4900,3"
    )
    assert "1 row(s): 1 tires were created" in _import(tmp_path, text)


def test_a_file_with_bad_rows_imports_nothing_and_names_each_problem(tmp_path):
    make_tire(sku="KEEP-ME")
    text = "\n".join(
        [
            HEADER,
            "OK-1,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120,8",
            "BAD-2,Michelin,Alpin 6,abc,55,16,winter,91,H,no,5120,8",
            "BAD-3,Michelin,Alpin 6,205,55,16,spring,91,H,no,5120,8",
            "BAD-4,Michelin,Pilot Sport 5,205,55,16,summer,91,H,yes,5120,8",
            "BAD-5,Michelin,Alpin 6,205,55,16,winter,91,H,no,free,8",
            "OK-1,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120,8",
            "BAD-7,Michelin,Alpin 6,999,55,16,winter,91,H,no,5120,8",
        ]
    )
    with pytest.raises(CommandError) as caught:
        _import(tmp_path, text)
    message = str(caught.value)
    assert "Nothing was imported" in message
    assert "row 3, width: 'abc' is not a whole number" in message
    assert "row 4, season: 'spring' is not summer, winter or all-season" in message
    assert "row 5, studded: only winter tires can be studded" in message
    assert "row 6, price: 'free' is not a price" in message
    assert "row 7, sku: 'OK-1' is already on row 2" in message
    assert "row 8, width:" in message and "395" in message
    assert list(Tire.objects.values_list("sku", flat=True)) == ["KEEP-ME"]


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(CommandError, match="Missing column\\(s\\): price"):
        _import(
            tmp_path, HEADER.replace(",price", "") + "\nX,Michelin,A,205,55,16,winter,91,H,no,8"
        )


def test_a_non_utf8_file_suggests_the_encoding_option(tmp_path):
    text = HEADER + "\nX,Росава,Snowgard,185,65,15,winter,88,T,yes,2150,12"
    with pytest.raises(CommandError, match="try --encoding cp1251"):
        _import(tmp_path, text, encoding="cp1251")
    assert not Tire.objects.exists()


@pytest.mark.parametrize("text", ["", HEADER + "\n"])
def test_an_empty_file_is_refused(tmp_path, text):
    with pytest.raises(CommandError, match=r"empty|no tire rows"):
        _import(tmp_path, text)


def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    output = _import(
        tmp_path, HEADER + "\nX-1,NewBrand,Eco,205,55,16,summer,91,H,no,3000,5", "--dry-run"
    )
    assert "1 tires would be created" in output and "new brands: NewBrand" in output
    assert not Tire.objects.exists()


def test_reimporting_updates_prices_and_stock_and_counts_unchanged_rows(tmp_path):
    rows = [
        "MI-1,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120,8",
        "MI-2,Michelin,Alpin 6,195,65,15,winter,91,H,no,4300,2",
    ]
    _import(tmp_path, "\n".join([HEADER, *rows]))
    rows[0] = "MI-1,Michelin,Alpin 6,205,55,16,winter,91,H,no,4990,3"
    output = _import(tmp_path, "\n".join([HEADER, *rows]))
    assert "1 updated, 1 unchanged" in output
    tire = Tire.objects.get(sku="MI-1")
    assert (tire.price, tire.stock_quantity) == (Decimal("4990.00"), 3)


def test_deactivate_missing_stops_offering_only_tires_not_in_the_file(tmp_path):
    gone = make_tire(sku="OLD-1")
    output = _import(
        tmp_path,
        HEADER + "\nMI-1,Michelin,Alpin 6,205,55,16,winter,91,H,no,5120,8",
        "--deactivate-missing",
    )
    assert "1 tires not in the file deactivated" in output
    gone.refresh_from_db()
    assert gone.is_active is False
    assert Tire.objects.get(sku="MI-1").is_active is True
