"""Tire sizes, rims and brands as callers say them and as speech-to-text writes them."""

import pytest

from catalog.services import TireSize, match_brand, parse_rim, parse_spoken_size
from catalog.spoken import words_to_digits
from tests.factories import make_brand


@pytest.mark.parametrize(
    ("said", "size"),
    [
        ("Two hundred five, fifty five, R sixteen", TireSize(205, 55, 16)),
        ("one ninety five sixty five fifteen", TireSize(195, 65, 15)),
        ("I need 205/55 R16 winter tires", TireSize(205, 55, 16)),
        ("225-45 r17", TireSize(225, 45, 17)),
        ("20555 R16", TireSize(205, 55, 16)),
        ("Двісті п'ять, п'ятдесят п'ять, R шістнадцять", TireSize(205, 55, 16)),
        ("двісті п’ять п’ятдесят п’ять р16", TireSize(205, 55, 16)),
        ("Двести пять пятьдесят пять, Р шестнадцать", TireSize(205, 55, 16)),
        ("сто дев'яносто п'ять шістдесят п'ять п'ятнадцять", TireSize(195, 65, 15)),
        # Connecting words between the parts, as callers say them or Whisper writes them.
        ("205 and 55 R16.", TireSize(205, 55, 16)),
        ("two twenty five by forty five, seventeen", TireSize(225, 45, 17)),
        ("двісті п'ять на п'ятдесят п'ять, р шістнадцять", TireSize(205, 55, 16)),
        ("двести пять дробь пятьдесят пять р шестнадцать", TireSize(205, 55, 16)),
        # Whisper's "two hundred five" as "2 105" at 8 kHz: no tire is 105 wide.
        ("2 105 55 R16.", TireSize(205, 55, 16)),
        ("2 115, 65, R15", TireSize(215, 65, 15)),
        # ...and the "two" as its homophone (tiny.en at 8 kHz, the README's first call).
        ("I need winter tires to 105 55 R16.", TireSize(205, 55, 16)),
        ("Too 115/65 R15", TireSize(215, 65, 15)),
        # ...but a count before a real width stays a count.
        ("2 195 65 R15", TireSize(195, 65, 15)),
        ("tires to 195 65 R15", TireSize(195, 65, 15)),
    ],
)
def test_a_size_is_found_however_it_is_said(said, size):
    assert parse_spoken_size(said) == size


@pytest.mark.parametrize(
    "said", ["Order number 104523", "067 123 45 67", "I need four tires", "999/99 R99"]
)
def test_numbers_that_are_not_a_size_are_not_taken_for_one(said):
    assert parse_spoken_size(said) is None


@pytest.mark.parametrize(
    ("said", "rim"),
    [("No, I meant R17", 17), ("seventeen inch", 17), ("радіус сімнадцять", 17), ("R 15", 15)],
)
def test_a_rim_said_alone(said, rim):
    assert parse_rim(said) == rim


def test_spoken_digits_stay_digits_and_compound_numbers_join():
    assert words_to_digits("zero six seven, one two three") == "0 6 7, 1 2 3"
    assert words_to_digits("two hundred and five") == "205"
    assert words_to_digits("сто чотири п'ятсот двадцять три") == "104 523"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("heard", "brand"),
    [
        ("Do you have Michelin?", "Michelin"),
        ("do you have michellin", "Michelin"),
        ("А є Мішлен?", "Michelin"),
        ("Nokian Hakkapeliitta", "Nokian"),
        ("something from Good Year", "Goodyear"),
        ("I need winter tires", None),
    ],
)
def test_a_brand_is_matched_fuzzily_by_name_or_alias(heard, brand):
    make_brand(name="Michelin", aliases="Мішлен, Мишлен")
    make_brand(name="Nokian", aliases="Нокіан")
    make_brand(name="Goodyear", aliases="Гудіар")
    found = match_brand(heard)
    assert (found.name if found else None) == brand
