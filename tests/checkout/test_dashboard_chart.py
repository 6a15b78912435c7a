"""The overview's chart: ranges of 7, 30 and 90 days (a bar per day), 12 months and long custom
ranges (a bar per month), cut in the business's time zone by one grouped query; axes and
tooltips in the business's locale; only the merchant's own payments."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from checkout.dashboard import chart_range_resolve, dashboard_figures
from checkout.models import Payment
from superpayment.charts import Group, Series, bar_chart_build, nice_step
from tests.checkout.factories_payments import payment_make
from tests.conftest import member_of

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 4)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def overview(client, merchant, **params):
    connection.set_schema_to_public()
    response = client.get(reverse("portal:overview", kwargs={"slug": merchant.slug}), params)
    connection.set_schema_to_public()
    return response


def paid_at(merchant, when: datetime.datetime, amount: int, currency: str = "EUR") -> None:
    payment, _ = payment_make(merchant, vouchers=(amount,), currency=currency)
    with schema_context(merchant.schema_name):
        Payment.objects.filter(pk=payment.pk).update(created_at=when)


def test_ranges_resolve_to_days_or_months():
    seven = chart_range_resolve(key="7d", today=TODAY)
    assert (seven.first_day, seven.last_day, seven.unit) == (
        datetime.date(2026, 11, 28),
        TODAY,
        "day",
    )
    ninety = chart_range_resolve(key="90d", today=TODAY)
    assert (ninety.first_day, ninety.unit) == (datetime.date(2026, 9, 6), "day")
    year = chart_range_resolve(key="12m", today=TODAY)
    assert (year.first_day, year.unit) == (datetime.date(2026, 1, 1), "month")
    custom = chart_range_resolve(key="custom", start="2024-03-10", end="2027-01-01", today=TODAY)
    assert (custom.key, custom.first_day, custom.last_day, custom.unit) == (
        "custom",
        datetime.date(2024, 3, 10),
        TODAY,  # not past today
        "month",
    )
    assert (
        chart_range_resolve(key="custom", start="2026-11-01", end="2026-11-30", today=TODAY).unit
        == "day"
    )


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("", "2026-11-30", "Give both dates"),
        ("2026-12-01", "2026-11-01", "start before it ends"),
        ("2015-01-01", "2026-12-01", "at most five years"),
        ("2026-13-01", "2026-12-01", "Give both dates"),
    ],
)
def test_a_custom_range_that_cannot_be_used_falls_back_to_30_days_and_says_why(start, end, error):
    chosen = chart_range_resolve(key="custom", start=start, end=end, today=TODAY)
    assert (chosen.key, chosen.first_day) == ("30d", datetime.date(2026, 11, 5))
    assert error in chosen.error
    assert chart_range_resolve(key="forever", today=TODAY).key == "30d"


def test_nice_steps_are_round():
    assert [nice_step(peak) for peak in (40, 41, 7, 0.3, 1234)] == [10, 20, 2, 0.1, 500]


def test_an_empty_chart_has_whole_steps_in_a_currency_without_decimals():
    groups = [Group(short_label="1", long_label="1 Dec", values=(0,))]
    chart = bar_chart_build(
        title="t", currency="JPY", series=[Series("Paid", "series-a")], groups=groups, locale="en"
    )
    assert [tick.label for tick in chart.ticks] == ["¥0", "¥1", "¥2", "¥3", "¥4"]
    assert chart.points[0].bars[0].height == 0


def test_twelve_months_sum_each_month_in_one_query_in_the_business_zone(merchant_a):
    now = datetime.datetime(2026, 12, 4, 12, tzinfo=datetime.UTC)
    # 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Berlin: November's.
    paid_at(merchant_a, datetime.datetime(2026, 10, 31, 23, 30, tzinfo=datetime.UTC), 1_000)
    paid_at(merchant_a, datetime.datetime(2026, 11, 15, 10, tzinfo=datetime.UTC), 2_500)
    paid_at(merchant_a, datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC), 700)
    paid_at(merchant_a, datetime.datetime(2025, 12, 31, 9, tzinfo=datetime.UTC), 9_999)  # before
    paid_at(merchant_a, datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC), 4_200, "USD")
    chosen = chart_range_resolve(key="12m", today=TODAY)
    with (
        schema_context(merchant_a.schema_name),
        timezone.override(BERLIN),
        CaptureQueriesContext(connection) as queries,
    ):
        figures = dashboard_figures(
            livemode=False, default_currency="EUR", chart_range=chosen, now=now, locale="de_DE"
        )
    selects = [query["sql"] for query in queries if query["sql"].startswith("SELECT")]
    assert len(selects) == 2  # the 30-day figures and the chart: each one GROUP BY
    assert "GROUP BY" in selects[1] and "AT TIME ZONE 'Europe/Berlin'" in selects[1]
    points = figures.chart.points
    assert [point.title for point in points][:2] == ["Januar 2026", "Februar 2026"]
    assert len(points) == 12 and points[-1].title == "Dezember 2026"
    by_month = {point.title: point.cells for point in points if point.bars[0].height}
    assert by_month == {
        "Januar 2026": ["7,00\xa0€", "1 payment"],
        "November 2026": ["35,00\xa0€", "2 payments"],
    }
    assert [(v.currency, v.amount, v.count) for v in figures.range_volumes] == [
        ("EUR", 4_200, 3),
        ("USD", 4_200, 1),
    ]
    # The y axis: round steps from 0 in the locale's format.
    assert [tick.label for tick in figures.chart.ticks] == [
        "0\xa0€",
        "10\xa0€",
        "20\xa0€",
        "30\xa0€",
        "40\xa0€",
    ]
    assert figures.chart.x_labels[0].text == "Jan. 2026"


def test_ninety_days_draw_a_bar_per_day(merchant_a):
    now = datetime.datetime(2026, 12, 4, 12, tzinfo=datetime.UTC)
    paid_at(merchant_a, datetime.datetime(2026, 9, 6, 12, tzinfo=datetime.UTC), 300)
    paid_at(merchant_a, datetime.datetime(2026, 9, 5, 12, tzinfo=datetime.UTC), 999)  # before
    with schema_context(merchant_a.schema_name), timezone.override(BERLIN):
        figures = dashboard_figures(
            livemode=False,
            default_currency="EUR",
            chart_range=chart_range_resolve(key="90d", today=TODAY),
            now=now,
        )
    points = figures.chart.points
    assert len(points) == 90
    assert points[0].label == "Sep 6, 2026: Paid €3.00, 1 payment"
    assert [point.index for point in points if point.bars[0].height] == [0]
    assert len(figures.chart.x_labels) <= 6


def test_the_overview_draws_the_range_asked_for(client, merchant_a):
    paid_at(merchant_a, timezone.now() - datetime.timedelta(days=200), 12_345)
    client.force_login(member_of(merchant_a, "viewer"))
    year = overview(client, merchant_a, range="12m", mode="test").content.decode()
    assert year.count('<g class="point"') == 12
    assert 'aria-current="true">12 months' in year
    assert "123,45\xa0€" in year.split('id="volume-chart"')[1]
    month = overview(client, merchant_a, range="30d", mode="test").content.decode()
    assert month.count('<g class="point"') == 30 and "123,45" not in month
    custom = overview(
        client, merchant_a, range="custom", **{"from": "2026-01-01", "to": "2026-01-31"}
    ).content.decode()
    assert custom.count('<g class="point"') == 31
    refused = overview(client, merchant_a, range="custom", **{"from": "x", "to": ""})
    assert 'id="range-error"' in refused.content.decode()


def test_another_merchants_payments_never_reach_the_chart(client, merchant_a, merchant_b):
    paid_at(merchant_b, timezone.now(), 77_700)
    client.force_login(member_of(merchant_a, "owner"))
    html = overview(client, merchant_a, range="7d", mode="test").content.decode()
    assert "777" not in html
    assert overview(client, merchant_b, range="7d").status_code == 404
