"""The sample catalog a first run loads: big, varied, valid, and the same every time."""

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import Brand, Season, Tire

pytestmark = pytest.mark.django_db


def test_it_loads_several_hundred_valid_tires_over_many_brands_sizes_and_seasons():
    call_command("load_sample_catalog", stdout=StringIO())
    tires = Tire.objects.select_related("brand")
    assert tires.count() >= 300
    assert Brand.objects.count() >= 15
    assert set(tires.values_list("season", flat=True)) == set(Season.values)
    assert tires.values("width", "profile", "rim_diameter").distinct().count() >= 25
    assert tires.filter(studded=True).exists() and tires.filter(stock_quantity=0).exists()
    for tire in tires:
        tire.full_clean()
    assert Tire.objects.available().of_size(205, 55, 16).count() >= 5


def test_loading_it_again_keeps_the_same_catalog():
    call_command("load_sample_catalog", stdout=StringIO())
    first = set(Tire.objects.values_list("sku", "price", "stock_quantity"))
    call_command("load_sample_catalog", stdout=StringIO())
    assert set(Tire.objects.values_list("sku", "price", "stock_quantity")) == first


def test_brands_carry_the_names_callers_say():
    call_command("load_sample_catalog", stdout=StringIO())
    assert "Мішлен" in Brand.objects.get(name="Michelin").alias_list
