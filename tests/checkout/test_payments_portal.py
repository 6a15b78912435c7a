"""The payments portal: list with search, filters and totals; a payment's page; refunding with a
confirmation step (owners and admins only); another merchant's payment answers 404; the
overview's figures; list queries stay constant as the page fills."""

from __future__ import annotations

import datetime

import pytest
from babel.dates import format_skeleton
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from checkout.dashboard import dashboard_figures
from checkout.models import Payment
from checkout.refund_models import Refund
from checkout.refunds import payment_refund
from tests.checkout.factories_payments import payment_make
from tests.conftest import member_of
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def url(name, merchant, **kwargs):
    return reverse(f"portal:{name}", kwargs={"slug": merchant.slug, **kwargs})


def page(client, path, **params):
    connection.set_schema_to_public()
    response = client.get(path, params)
    connection.set_schema_to_public()
    return response


def send(client, path, data):
    connection.set_schema_to_public()
    response = client.post(path, data)
    connection.set_schema_to_public()
    return response


def balance(merchant, voucher) -> int:
    with schema_context(merchant.schema_name):
        return Voucher.objects.get(pk=voucher.pk).balance


def refunds_of(merchant, payment) -> list[int]:
    with schema_context(merchant.schema_name):
        return list(
            Refund.objects.filter(payment__pk=payment.pk)
            .order_by("pk")
            .values_list("amount", flat=True)
        )


def test_list_searches_by_order_id_and_totals_the_filtered_set(client, merchant_a, owner_a):
    a, _ = payment_make(merchant_a, vouchers=(1_000,), order_id="SHOP-1001")
    payment_make(merchant_a, vouchers=(2_000,), order_id="SHOP-1002")
    payment_make(merchant_a, vouchers=(4_000,), order_id="OTHER-7")
    payment_make(merchant_a, vouchers=(800,), currency="USD", order_id="SHOP-USD")
    with schema_context(merchant_a.schema_name):
        payment_refund(payment=a, amount=250)
    client.force_login(owner_a)

    everything = page(client, url("payments", merchant_a))
    assert everything.status_code == 200
    totals = {(t.currency, t.count, t.amount, t.refunded) for t in everything.context["totals"]}
    assert totals == {("EUR", 3, 7_000, 250), ("USD", 1, 800, 0)}

    searched = page(client, url("payments", merchant_a), q="shop-10")
    assert [p.order_id for p, _state in searched.context["rows"]] == ["SHOP-1002", "SHOP-1001"]
    assert [
        (t.currency, t.count, t.amount, t.refunded, t.net) for t in searched.context["totals"]
    ] == [("EUR", 2, 3_000, 250, 2_750)]
    html = searched.content.decode()
    assert "SHOP-1001" in html and "OTHER-7" not in html
    assert "Partially refunded" in html

    partial = page(client, url("payments", merchant_a), status="partial")
    assert [p.order_id for p, _state in partial.context["rows"]] == ["SHOP-1001"]
    live = page(client, url("payments", merchant_a), mode="live")
    assert live.context["rows"] == [] and live.context["totals"] == []


def test_list_filters_by_date(client, merchant_a, owner_a):
    old, _ = payment_make(merchant_a, vouchers=(1_000,), order_id="OLD-1")
    payment_make(merchant_a, vouchers=(1_000,), order_id="NEW-1")
    with schema_context(merchant_a.schema_name):
        Payment.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=10)
        )
    client.force_login(owner_a)
    today = timezone.localdate()

    recent = page(client, url("payments", merchant_a), **{"from": today.isoformat()})
    assert [p.order_id for p, _ in recent.context["rows"]] == ["NEW-1"]
    before = page(
        client,
        url("payments", merchant_a),
        to=(today - datetime.timedelta(days=5)).isoformat(),
    )
    assert [p.order_id for p, _ in before.context["rows"]] == ["OLD-1"]


def test_payment_page_shows_vouchers_refunds_and_events(client, merchant_a, owner_a):
    payment, (first, second) = payment_make(merchant_a, vouchers=(600, 400))
    with schema_context(merchant_a.schema_name):
        payment_refund(payment=payment, amount=300, reason="Wrong size")
    client.force_login(owner_a)

    response = page(client, url("payment_detail", merchant_a, payment_id=payment.public_id))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"…{first.code_last4}" in html and f"…{second.code_last4}" in html
    assert first.code not in html  # never the full code
    assert "Wrong size" in html
    assert "payment.succeeded" in html and "payment.refunded" in html
    assert 'id="refund-button"' in html
    assert "Partially refunded" in html


def test_owner_refunds_after_confirming(client, merchant_a, owner_a):
    payment, (voucher,) = payment_make(merchant_a, vouchers=(5_000,))
    client.force_login(owner_a)
    refund_url = url("payment_refund", merchant_a, payment_id=payment.public_id)

    form = page(client, refund_url)
    assert form.status_code == 200
    assert 'value="50.00"' in form.content.decode()  # prefilled with what is left

    review = send(client, refund_url, {"amount": "12.50", "reason": "Returned"})
    assert review.status_code == 200
    assert "Confirm refund of 12,50\xa0€" in review.content.decode()
    assert refunds_of(merchant_a, payment) == []  # nothing until confirmed

    done = send(client, refund_url, {"amount": "12.50", "reason": "Returned", "confirm": "yes"})
    assert done.status_code == 302
    assert done["Location"] == url("payment_detail", merchant_a, payment_id=payment.public_id)
    assert refunds_of(merchant_a, payment) == [1_250]
    assert balance(merchant_a, voucher) == 1_250
    with schema_context(merchant_a.schema_name):
        made = Refund.objects.get(payment__pk=payment.pk)
    assert (made.source, made.actor_email, made.reason) == ("portal", owner_a.email, "Returned")

    too_much = send(client, refund_url, {"amount": "37.51", "confirm": "yes"})
    assert "At most 37,50\xa0€ can still be refunded." in too_much.content.decode()
    assert refunds_of(merchant_a, payment) == [1_250]


def test_admin_may_refund(client, merchant_a):
    payment, _ = payment_make(merchant_a, vouchers=(1_000,))
    client.force_login(member_of(merchant_a, "admin"))
    refund_url = url("payment_refund", merchant_a, payment_id=payment.public_id)
    response = send(client, refund_url, {"amount": "10.00", "confirm": "yes"})
    assert response.status_code == 302
    assert refunds_of(merchant_a, payment) == [1_000]


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_viewers_and_developers_see_no_refund_button_and_cannot_refund(client, merchant_a, role):
    payment, (voucher,) = payment_make(merchant_a, vouchers=(1_000,))
    client.force_login(member_of(merchant_a, role))

    detail = page(client, url("payment_detail", merchant_a, payment_id=payment.public_id))
    assert detail.status_code == 200
    assert 'id="refund-button"' not in detail.content.decode()
    refund_url = url("payment_refund", merchant_a, payment_id=payment.public_id)
    assert page(client, refund_url).status_code == 403
    forged = send(client, refund_url, {"amount": "10.00", "confirm": "yes"})
    assert forged.status_code == 403
    assert refunds_of(merchant_a, payment) == []
    assert balance(merchant_a, voucher) == 0


def test_another_merchants_payment_answers_404(client, merchant_a, merchant_b, owner_a):
    of_b, (voucher_b,) = payment_make(merchant_b, vouchers=(1_000,))
    client.force_login(owner_a)

    # B's payment id under A's own slug: A's schema has no such payment.
    assert (
        page(client, url("payment_detail", merchant_a, payment_id=of_b.public_id)).status_code
        == 404
    )
    refund_url = url("payment_refund", merchant_a, payment_id=of_b.public_id)
    assert send(client, refund_url, {"amount": "10.00", "confirm": "yes"}).status_code == 404
    # B's slug: A's owner is no member of B.
    assert (
        page(client, url("payment_detail", merchant_b, payment_id=of_b.public_id)).status_code
        == 404
    )
    assert balance(merchant_b, voucher_b) == 0


def _portal_list_queries(client, merchant) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = page(client, url("payments", merchant))
    assert response.status_code == 200
    return len(queries)


def test_list_queries_stay_constant_as_the_page_fills(
    client, merchant_a, owner_a, django_assert_num_queries
):
    first, _ = payment_make(merchant_a, vouchers=(1_000,))
    with schema_context(merchant_a.schema_name):
        payment_refund(payment=first, amount=10)
    client.force_login(owner_a)
    page(client, url("payments", merchant_a))  # session and login bookkeeping settle
    one = _portal_list_queries(client, merchant_a)

    for _ in range(19):
        payment, _ = payment_make(merchant_a, vouchers=(500,))
        with schema_context(merchant_a.schema_name):
            payment_refund(payment=payment, amount=10)
    with django_assert_num_queries(one):
        response = page(client, url("payments", merchant_a))
    assert len(response.context["rows"]) == 20


def test_dashboard_figures_per_window_and_currency(merchant_a):
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    made = {}
    for order, days_ago, amount, currency in [
        ("D0-A", 0, 1_000, "EUR"),
        ("D0-B", 0, 500, "USD"),
        ("D3", 3, 2_000, "EUR"),
        ("D20", 20, 4_000, "EUR"),
        ("D40", 40, 8_000, "EUR"),
    ]:
        payment, _ = payment_make(merchant_a, vouchers=(amount,), currency=currency, order_id=order)
        made[order] = (payment, now - datetime.timedelta(days=days_ago))
    with schema_context(merchant_a.schema_name):
        for payment, created in made.values():
            Payment.objects.filter(pk=payment.pk).update(created_at=created)
        figures = dashboard_figures(livemode=False, default_currency="EUR", now=now)
        live = dashboard_figures(livemode=True, default_currency="EUR", now=now)

    volumes = {
        window.key: [(v.currency, v.amount, v.count) for v in window.volumes]
        for window in figures.windows
    }
    assert volumes == {
        "today": [("EUR", 1_000, 1), ("USD", 500, 1)],
        "7d": [("EUR", 3_000, 2), ("USD", 500, 1)],
        "30d": [("EUR", 7_000, 3), ("USD", 500, 1)],
    }
    # The chart: one bar per day of the last 30 in EUR, scaled to a round top (€40.00 of €40).
    assert len(figures.chart.points) == 30
    assert [(p.cells[0], p.bars[0].height) for p in figures.chart.points if p.bars[0].height] == [
        ("€40.00", 180),
        ("€20.00", 90),
        ("€10.00", 45),
    ]
    assert figures.chart.points[-1].title == format_skeleton("yMMMd", timezone.localdate(now))
    assert not live.has_payments


def test_overview_shows_the_figures_and_chart(client, merchant_a, owner_a):
    payment_make(merchant_a, vouchers=(2_490,))
    client.force_login(owner_a)

    response = page(client, url("overview", merchant_a), mode="test")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="figure-today"' in html and "24,90\xa0€" in html
    assert html.count('<g class="point"') == 30  # a slot per day of the last 30
    assert "24,90\xa0€" in html.split('id="volume-chart"')[1]  # the tooltip, the table
    assert "cdn" not in html.lower().split('id="dashboard-figures"')[1].split("</section>")[0]


def test_one_search_box_finds_payment_ids_voucher_codes_and_order_ids(client, merchant_a, owner_a):
    wanted, (voucher,) = payment_make(merchant_a, vouchers=(1_000,), order_id="FIND-ME-1")
    payment_make(merchant_a, vouchers=(2_000,), order_id="OTHER-2")
    client.force_login(owner_a)

    def found(q: str) -> list[str]:
        rows = page(client, url("payments", merchant_a), q=q).context["rows"]
        return [payment.order_id for payment, _state in rows]

    assert found(wanted.public_id) == ["FIND-ME-1"]
    grouped = "-".join(voucher.code[i : i + 4] for i in range(0, len(voucher.code), 4))
    assert found(grouped) == ["FIND-ME-1"]  # a whole code, pasted as printed
    assert found("find-me") == ["FIND-ME-1"]
    assert found("pay_doesnotexist") == []


def test_csv_export_streams_every_matching_payment_and_defuses_formulas(
    client, merchant_a, owner_a
):
    payment, _ = payment_make(merchant_a, vouchers=(1_234,), order_id="CSV-1")
    payment_make(merchant_a, vouchers=(500,), order_id="OTHER-CSV")
    with schema_context(merchant_a.schema_name):
        payment_refund(payment=payment, amount=234)
    client.force_login(owner_a)
    listing = page(client, url("payments", merchant_a), q="CSV-1").content.decode()
    assert "format=csv" in listing and "Export CSV" in listing
    response = page(client, url("payments", merchant_a), q="CSV-1", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("payment_id,order_id,created_at_utc,livemode,currency")
    assert len(lines) == 2
    cells = lines[1].split(",")
    assert cells[:2] == [payment.public_id, "CSV-1"]
    assert cells[4:9] == ["EUR", "1234", "12.34", "234", "partial"]


def test_csv_cells_that_spreadsheets_would_run_are_defused():
    from superpayment.csv_stream import csv_response

    response = csv_response("x.csv", ["a", "b"], [["=HYPERLINK(1)", -5], ["+1", "@x"]])
    body = b"".join(response.streaming_content).decode().splitlines()
    assert body[1:] == ["'=HYPERLINK(1),-5", "'+1,'@x"]


def test_lists_page_newer_as_well_as_older(client, merchant_a, owner_a, monkeypatch):
    import checkout.portal_views

    monkeypatch.setattr(checkout.portal_views, "PAGE_SIZE", 2)
    made = [payment_make(merchant_a, vouchers=(100,), order_id=f"PG-{i}")[0] for i in range(5)]
    client.force_login(owner_a)

    def orders(response) -> list[str]:
        return [payment.order_id for payment, _state in response.context["rows"]]

    first = page(client, url("payments", merchant_a), q="PG-")
    assert orders(first) == ["PG-4", "PG-3"] and first.context["newer_before"] is None
    second = page(client, url("payments", merchant_a), q="PG-", after=first.context["next_after"])
    assert orders(second) == ["PG-2", "PG-1"]
    assert "Newer payments" in second.content.decode()
    back = page(client, url("payments", merchant_a), q="PG-", before=second.context["newer_before"])
    assert orders(back) == ["PG-4", "PG-3"] and back.context["newer_before"] is None
    assert back.context["next_after"] == made[3].pk
