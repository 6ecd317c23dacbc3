"""CSV export of calls and orders: what a manager opens in Excel, and who may download it."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from callcenter.csv_export import cell
from calls.models import Call, CallOutcome, TurnRole
from orders.models import Fulfilment
from tests.factories import (
    make_brand,
    make_call,
    make_order,
    make_staff_member,
    make_tire,
    make_turn,
)

pytestmark = pytest.mark.django_db

CALLS_URL = reverse("admin:calls_call_changelist")
ORDERS_URL = reverse("admin:orders_order_changelist")


@pytest.fixture
def manager_client(client):
    client.force_login(make_staff_member("Managers"))
    return client


@pytest.fixture
def operator_client(client):
    client.force_login(make_staff_member("Operators"))
    return client


def _export(client, url: str, pks, **extra):
    return client.post(url, {"action": "export_csv", "_selected_action": pks, **extra})


def _rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _action_names(client, url: str) -> list[str]:
    action_form = client.get(url).context["action_form"]
    return [name for name, _ in action_form.fields["action"].choices] if action_form else []


@pytest.fixture
def a_call_with_an_order():
    # 22:30 UTC on 10 January is 00:30 on 11 January in Kyiv.
    started = datetime.datetime(2025, 1, 10, 22, 30, tzinfo=datetime.UTC)
    call = make_call(
        caller_number="+380671234567",
        outcome=CallOutcome.ORDER_PLACED,
        status="ended",
        started_at=started,
        ended_at=started + datetime.timedelta(seconds=95),
        language="uk",
        summary="Клієнт замовив чотири зимові шини",
    )
    make_turn(call, role=TurnRole.BOT, text="Добрий день!")
    make_turn(call, role=TurnRole.CALLER, text="Мені потрібні шини")
    make_turn(call, role=TurnRole.BOT, text="Який розмір?", total_ms=600)
    make_turn(call, role=TurnRole.BOT, text="Готово.", total_ms=900)
    tire = make_tire(brand=make_brand(name="Michelin"), model="Alpin 6")
    order = make_order(
        tire=tire,
        quantity=4,
        source_call_id=call.pk,
        customer_name="Олена Коваленко",
        fulfilment=Fulfilment.DELIVERY,
        delivery_address="Київ, вул. Хрещатик, 1",
    )
    return call, order


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+380671234567", "+380671234567"),  # a bare number cannot run anything
        ("-12.5", "-12.5"),
        ("Олена", "Олена"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_made_text(value, expected):
    assert cell(value) == expected


def test_a_call_export_has_a_header_and_the_calls_figures(manager_client, a_call_with_an_order):
    call, order = a_call_with_an_order
    rows = _rows(_export(manager_client, CALLS_URL, [call.pk]))
    assert list(rows[0]) == [
        "Started",
        "UUID",
        "Caller number",
        "Duration, s",
        "Status",
        "Outcome",
        "End reason",
        "Language",
        "Turns",
        "Average reply, ms",
        "Orders",
        "Summary",
    ]
    assert rows == [
        {
            "Started": "2025-01-11 00:30:00",  # local time, Europe/Kyiv
            "UUID": str(call.uuid),
            "Caller number": "+380671234567",
            "Duration, s": "95",
            "Status": "Ended",
            "Outcome": "Order placed",
            "End reason": "",
            "Language": "Ukrainian",
            "Turns": "4",
            "Average reply, ms": "750",
            "Orders": order.number,
            "Summary": "Клієнт замовив чотири зимові шини",
        }
    ]


def test_an_order_export_lists_its_items_and_source_call(manager_client, a_call_with_an_order):
    call, order = a_call_with_an_order
    staff_order = make_order(quantity=1)
    rows = _rows(_export(manager_client, ORDERS_URL, [order.pk, staff_order.pk]))
    by_number = {row["Number"]: row for row in rows}
    assert by_number[order.number] == {
        "Number": order.number,
        "Created": order.created_at.astimezone(datetime.UTC)
        .astimezone(_kyiv())
        .strftime("%Y-%m-%d %H:%M:%S"),
        "Status": "New",
        "Customer name": "Олена Коваленко",
        "Phone": "+380671234567",
        "Fulfilment": "Delivery",
        "Address": "Київ, вул. Хрещатик, 1",
        "Total": "11400.00",
        "Items": "4 × Michelin Alpin 6 205/55 R16",
        "Source call UUID": str(call.uuid),
    }
    assert by_number[staff_order.number]["Source call UUID"] == ""


def _kyiv():
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return ZoneInfo(settings.TIME_ZONE)


def test_an_order_with_several_tires_lists_them_separated_by_semicolons(manager_client):
    from orders import services

    first = make_tire(brand=make_brand(name="Nokian"), model="Hakkapeliitta R5")
    second = make_tire(brand=make_brand(name="Continental"), model="WinterContact", width=225)
    order = services.place_order(
        customer_name="Ivan",
        customer_phone="+380501112233",
        lines=[services.Line(first.pk, 2), services.Line(second.pk, 2)],
    )
    [row] = _rows(_export(manager_client, ORDERS_URL, [order.pk]))
    assert sorted(row["Items"].split("; ")) == [
        "2 × Continental WinterContact 225/55 R16",
        "2 × Nokian Hakkapeliitta R5 205/55 R16",
    ]


def test_text_a_caller_dictated_cannot_become_a_formula(manager_client):
    order = make_order(
        customer_name='=HYPERLINK("http://evil.example","Click")',
        delivery_address="@SUM(1+1)",
        notes="",
    )
    [row] = _rows(_export(manager_client, ORDERS_URL, [order.pk]))
    assert row["Customer name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["Address"] == "'@SUM(1+1)"
    assert row["Phone"] == "+380671234567"


def test_exporting_every_call_takes_a_fixed_number_of_queries(
    manager_client, django_assert_max_num_queries
):
    for n in range(40):
        call = make_call(caller_number=f"+38067000{n:04d}")
        make_turn(call, role=TurnRole.BOT, total_ms=500)
        if n % 2:
            make_order(quantity=1, source_call_id=call.pk)
    with django_assert_max_num_queries(20):
        # "Select all 40": the browser posts the page's ticked rows and select_across.
        response = _export(manager_client, CALLS_URL, [call.pk], select_across="1", index="0")
        rows = _rows(response)
    assert len(rows) == Call.objects.count() == 40
    assert sum(1 for row in rows if row["Orders"]) == 20


def test_operators_are_not_offered_the_export_and_cannot_post_it(
    operator_client, a_call_with_an_order
):
    call, order = a_call_with_an_order
    assert "export_csv" not in _action_names(operator_client, CALLS_URL)
    assert "export_csv" not in _action_names(operator_client, ORDERS_URL)
    assert "confirm" in _action_names(operator_client, ORDERS_URL)
    for url, pk in ((CALLS_URL, call.pk), (ORDERS_URL, order.pk)):
        response = _export(operator_client, url, [pk])
        assert response.status_code in (200, 302), url  # the list again, or back to it
        assert not response.streaming, url
        assert "Content-Disposition" not in response, url


def test_managers_are_offered_the_export(manager_client, a_call_with_an_order):
    assert "export_csv" in _action_names(manager_client, CALLS_URL)
    assert "export_csv" in _action_names(manager_client, ORDERS_URL)


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_export_streams_from_an_async_iterator(async_client):
    from asgiref.sync import sync_to_async

    user = await sync_to_async(make_staff_member)("Managers")
    call = await sync_to_async(make_call)(summary="Дзвінок")
    await async_client.aforce_login(user)
    response = await async_client.post(
        CALLS_URL, {"action": "export_csv", "_selected_action": [call.pk]}
    )
    assert response.is_async
    body = b"".join([chunk async for chunk in response.streaming_content])
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row["Summary"] for row in rows] == ["Дзвінок"]
