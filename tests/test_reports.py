"""The manager's reports page: figures per local day, the period selector, and who may see it."""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from calls import reports
from calls.models import CallOutcome, TurnRole
from orders.models import Order, OrderStatus
from orders.services import change_status
from tests.factories import make_call, make_order, make_staff_member, make_turn

pytestmark = pytest.mark.django_db

KYIV = ZoneInfo("Europe/Kyiv")
REPORTS_URL = "/admin/calls/call/reports/"


@pytest.fixture(autouse=True)
def _kyiv_time(settings):
    settings.TIME_ZONE = "Europe/Kyiv"


def _days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=KYIV)


def _call_on(day, hour, minute=0, **fields):
    return make_call(started_at=_at(day, hour, minute), **fields)


def _row(html: str, table: str, day: datetime.date) -> list[str]:
    """The cells of one day's row in one of the page's data tables."""
    section = html[html.index(f'id="table-{table}"') :]
    match = re.search(rf'<tr data-day="{day.isoformat()}">(.*?)</tr>', section, re.S)
    assert match, (table, day)
    return re.findall(r"<td>(.*?)</td>", match.group(1))


def _day(report: reports.Report, day: datetime.date) -> reports.Day:
    return next(d for d in report.days if d.date == day)


def test_the_url_is_named_and_lives_under_the_calls_admin():
    assert reverse("admin:calls_call_reports") == REPORTS_URL


def test_calls_are_counted_per_local_day_by_outcome(staff_client):
    day = _days_ago(3)
    _call_on(day, 10, outcome=CallOutcome.ORDER_PLACED)
    _call_on(day, 11, outcome=CallOutcome.ORDER_PLACED)
    _call_on(day, 12, outcome=CallOutcome.TRANSFERRED)
    response = staff_client.get(REPORTS_URL, {"days": 7})
    assert response.status_code == 200
    counts = _day(response.context["report"], day).calls
    assert counts[CallOutcome.ORDER_PLACED] == 2
    assert counts[CallOutcome.TRANSFERRED] == 1
    assert counts[CallOutcome.INFO_GIVEN] == 0
    # Columns: the outcomes in CallOutcome order, "no outcome yet", then all.
    assert _row(response.text, "calls", day) == ["2", "0", "1", "0", "0", "0", "3"]
    assert f"<title>{day.isoformat()} · Order placed: 2</title>" in response.text


def test_a_call_just_after_local_midnight_counts_on_the_local_day_not_the_utc_one(staff_client):
    day = _days_ago(3)
    early = _call_on(day, 0, 10, outcome=CallOutcome.INFO_GIVEN)
    late = _call_on(day - datetime.timedelta(days=1), 23, 50, outcome=CallOutcome.ABANDONED)
    # Kyiv is ahead of UTC: ten past midnight there is still the previous day in UTC.
    assert early.started_at.astimezone(datetime.UTC).date() == day - datetime.timedelta(days=1)
    report = staff_client.get(REPORTS_URL, {"days": 7}).context["report"]
    assert _day(report, day).calls == {**dict.fromkeys(reports.OUTCOMES, 0), "info_given": 1}
    previous = _day(report, day - datetime.timedelta(days=1))
    assert previous.calls == {**dict.fromkeys(reports.OUTCOMES, 0), "abandoned": 1}
    assert late.pk != early.pk


def test_the_period_selector_defaults_to_30_days_and_ignores_unknown_values(staff_client):
    _call_on(_days_ago(20), 9)
    _call_on(_days_ago(60), 9)
    expectations = [({}, 30, 1), ({"days": "7"}, 7, 0), ({"days": "90"}, 90, 2)]
    expectations.append(({"days": "1000"}, 30, 1))
    expectations.append(({"days": "many"}, 30, 1))
    for params, days, calls in expectations:
        response = staff_client.get(REPORTS_URL, params)
        report = response.context["report"]
        assert (report.period.days, len(report.days)) == (days, days), params
        assert report.headline.calls == calls, params
        assert report.days[-1].date == timezone.localdate()
        assert f'<strong aria-current="page">Last {days} days</strong>' in response.text


def test_headline_figures_count_the_bots_work_and_the_value_of_its_orders(staff_client):
    day = _days_ago(2)
    by_bot = _call_on(day, 9, outcome=CallOutcome.ORDER_PLACED)
    cancelled_by_bot = _call_on(day, 10, outcome=CallOutcome.ORDER_PLACED)
    _call_on(day, 11, outcome=CallOutcome.INFO_GIVEN)
    _call_on(day, 12, outcome=CallOutcome.ABANDONED)
    _call_on(day, 13, outcome=CallOutcome.TRANSFERRED)
    _call_on(day, 14, outcome=CallOutcome.FAILED)
    kept = make_order(quantity=4, source_call_id=by_bot.pk)
    cancelled = make_order(quantity=2, source_call_id=cancelled_by_bot.pk)
    change_status(cancelled.pk, OrderStatus.CANCELLED)
    make_order(quantity=1)  # taken by staff
    headline = staff_client.get(REPORTS_URL).context["report"].headline
    assert headline.calls == 6
    assert headline.handled_by_bot == 4  # two orders, information, a caller who hung up
    assert headline.transferred == 1
    assert headline.bot_orders == 2
    assert headline.bot_orders_cancelled == 1
    assert headline.bot_orders_value == kept.total == Decimal("11400.00")


def test_orders_per_day_are_split_between_the_bot_and_staff(staff_client):
    day = _days_ago(4)
    call = _call_on(day, 9)
    bot_order = make_order(source_call_id=call.pk)
    staff_orders = [make_order(quantity=1), make_order(quantity=1)]
    Order.objects.filter(pk__in=[bot_order.pk, *(o.pk for o in staff_orders)]).update(
        created_at=_at(day, 0, 5)  # just after local midnight
    )
    response = staff_client.get(REPORTS_URL, {"days": 7})
    figures = _day(response.context["report"], day)
    assert (figures.bot_orders, figures.staff_orders) == (1, 2)
    assert _row(response.text, "orders", day) == ["1", "2"]


def test_reply_latency_is_the_mean_of_the_bots_replies_per_day(staff_client):
    day = _days_ago(1)
    call = _call_on(day, 15)
    for total_ms in (400, 600, 1100):
        make_turn(call, role=TurnRole.BOT, total_ms=total_ms)
    make_turn(call, role=TurnRole.CALLER, total_ms=9000)  # not a reply: left out
    make_turn(call, role=TurnRole.BOT, total_ms=None)  # the greeting: no latency
    other = _call_on(_days_ago(5), 15)
    make_turn(other, role=TurnRole.BOT, total_ms=2000)
    response = staff_client.get(REPORTS_URL, {"days": 7})
    report = response.context["report"]
    assert _day(report, day).avg_reply_ms == pytest.approx(700)
    assert _day(report, _days_ago(5)).avg_reply_ms == pytest.approx(2000)
    assert _day(report, _days_ago(3)).avg_reply_ms is None
    assert report.headline.avg_reply_ms == pytest.approx(1025)
    assert _row(response.text, "latency", day)[0] == "700"


def test_the_95th_percentile_of_reply_latency_is_reported(staff_client):
    call = _call_on(_days_ago(1), 15)
    for n in range(1, 21):
        make_turn(call, role=TurnRole.BOT, total_ms=n * 100)
    report = staff_client.get(REPORTS_URL).context["report"]
    # Nearest rank gives 1900 ms; PostgreSQL's interpolating percentile_cont gives 1905 ms.
    assert 1900 <= report.headline.p95_reply_ms <= 1905
    day_p95 = _day(report, _days_ago(1)).p95_reply_ms
    if connection.vendor == "postgresql":
        assert day_p95 == pytest.approx(1905)
    else:
        assert day_p95 is None


def test_the_page_draws_its_charts_as_inline_svg_without_scripts(staff_client):
    _call_on(_days_ago(80), 9, outcome=CallOutcome.TRANSFERRED)
    response = staff_client.get(REPORTS_URL, {"days": 90})
    assert len(re.findall(r'<svg viewBox="[^"]+" role="img"', response.text)) == 3
    assert "Transferred to an operator: 1</title></rect>" in response.text
    assert '<script src="http' not in response.text
    assert "cdn" not in response.text.lower()


def test_an_empty_period_still_shows_every_day_with_zeros(staff_client):
    report = staff_client.get(REPORTS_URL, {"days": 7}).context["report"]
    assert [d.call_count for d in report.days] == [0] * 7
    assert report.headline.avg_reply_ms is None
    assert report.headline.bot_orders_value == 0


def test_the_page_is_built_with_a_fixed_number_of_queries(
    staff_client, django_assert_max_num_queries
):
    for n in range(30):
        call = _call_on(_days_ago(n % 7), 9, outcome=CallOutcome.INFO_GIVEN)
        make_turn(call, role=TurnRole.BOT, total_ms=500 + n)
        make_order(quantity=1, source_call_id=call.pk)
    with django_assert_max_num_queries(15):
        assert staff_client.get(REPORTS_URL, {"days": 7}).status_code == 200


def test_the_calls_list_links_to_the_reports(staff_client):
    response = staff_client.get(reverse("admin:calls_call_changelist"))
    assert f'<a href="{REPORTS_URL}">Reports</a>' in response.text


def test_visitors_who_are_not_logged_in_are_sent_to_the_login_page(client):
    response = client.get(REPORTS_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_users_who_are_not_staff_are_sent_to_the_login_page(client, django_user_model):
    user = django_user_model.objects.create_user("customer", password="pw")
    client.force_login(user)
    response = client.get(REPORTS_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_without_permission_to_view_calls_are_refused(client):
    client.force_login(make_staff_member(permissions=("orders.view_order",)))
    assert client.get(REPORTS_URL).status_code == 403


def test_staff_who_may_view_calls_see_the_reports(client):
    client.force_login(make_staff_member(permissions=("calls.view_call",)))
    assert client.get(REPORTS_URL).status_code == 200


def test_calls_are_counted_per_language_they_ended_in_with_their_orders(staff_client):
    day = _days_ago(1)
    _call_on(day, 9, language="uk", outcome=CallOutcome.ORDER_PLACED)
    _call_on(day, 10, language="uk", outcome=CallOutcome.TRANSFERRED)
    _call_on(day, 11, language="ru", outcome=CallOutcome.ORDER_PLACED)
    _call_on(_days_ago(20), 11, language="ru")  # outside the 7 days
    response = staff_client.get(REPORTS_URL, {"days": 7})
    rows = {row.code: (row.calls, row.orders) for row in response.context["report"].languages}
    assert rows == {"uk": (2, 1), "ru": (1, 1), "en": (0, 0)}
    section = response.text[response.text.index('id="table-languages"') :]
    ukrainian = re.search(r'<tr data-language="uk">(.*?)</tr>', section, re.S).group(1)
    assert "Ukrainian" in ukrainian and re.findall(r"<td>(.*?)</td>", ukrainian) == ["2", "1"]


def test_the_calls_list_filters_by_language(staff_client):
    _call_on(_days_ago(1), 9, language="ru", caller_number="+380501110000")
    _call_on(_days_ago(1), 10, language="uk", caller_number="+380672220000")
    response = staff_client.get(reverse("admin:calls_call_changelist"), {"language__exact": "ru"})
    assert [call.language for call in response.context["cl"].result_list] == ["ru"]
