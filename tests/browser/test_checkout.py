"""The checkout as a shopper meets it: the demo shop's widget, the modal, the payment frame.

Headless Chromium against a real gunicorn. The demo merchant, its publishable key (allowed on the
live server's origin) and each test's vouchers are committed; the merchant is dropped at the end.
"""

from __future__ import annotations

import json
import re

import pytest
from django_tenants.utils import schema_context

from tests.helpers import committed

pytestmark = pytest.mark.django_db

DEMO = {"slug": "demo-shop", "name": "Demo Shop", "country": "DE", "default_currency": "EUR"}


@pytest.fixture(scope="module")
def demo(live_url, django_db_blocker):
    from checkout.demo import demo_checkout_ensure
    from tenants.services import provision_merchant

    with django_db_blocker.unblock():
        merchant = committed(lambda: provision_merchant(**DEMO).merchant)
        committed(lambda: demo_checkout_ensure(merchant=merchant, base_url=live_url))
        yield merchant
        committed(lambda: _drop(merchant))


def _drop(merchant) -> None:
    from django.db import connection

    from tenants.models import Merchant
    from tests.checkout.support import commission_entries_purge

    with schema_context(merchant.schema_name):
        from checkout.models import Payment

        ids = list(Payment.objects.values_list("public_id", flat=True))
    commission_entries_purge(ids)
    connection.set_schema_to_public()
    Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)


def voucher(merchant, amount: int):
    from vouchers.services import voucher_issue

    return committed(lambda: voucher_issue(currency="EUR", amount=amount), merchant.schema_name)


def balance(merchant, issued) -> int:
    from vouchers.models import Voucher

    return committed(lambda: Voucher.objects.get(pk=issued.pk).balance, merchant.schema_name)


def payment_of(merchant, order_id: str):
    from checkout.models import Payment

    return committed(
        lambda: Payment.objects.filter(order_id=order_id).first(), merchant.schema_name
    )


def frame(page):
    return page.frame_locator("iframe[title^='SuperPayment']")


def open_shop(page, live_url) -> str:
    page.goto(live_url + "/demo/shop/")
    page.locator("li.event-ready").wait_for()
    return page.locator("#order-id").inner_text()


def click_pay_button(page) -> None:
    page.get_by_role("button", name="Pay €24.90 with a voucher").click()


def add_code(page, code: str) -> None:
    frame(page).get_by_label("Voucher code").fill(code)
    frame(page).get_by_role("button", name="Add").click()


def success_detail(page) -> dict:
    text = page.locator("li.event-success").inner_text()
    return json.loads(text.removeprefix("success "))


def test_demo_shop_pay_with_a_code(page, live_url, demo):
    issued = voucher(demo, 5_000)
    order_id = open_shop(page, live_url)

    click_pay_button(page)
    dialog = page.get_by_role("dialog", name="Pay with a voucher")
    dialog.wait_for()
    add_code(page, issued.code.lower())  # typed as a shopper would; normalised by the platform
    frame(page).get_by_text("Your vouchers cover the full amount.", exact=True).wait_for()
    frame(page).get_by_role("button", name="Pay €24.90").click()

    detail = success_detail(page)
    assert detail["orderId"] == order_id
    assert (detail["amount"], detail["currency"]) == (2490, "EUR")
    frame(page).get_by_role("heading", name="Payment complete").wait_for()
    frame(page).get_by_role("button", name="Done").click()
    dialog.wait_for(state="detached")
    payment = payment_of(demo, order_id)
    assert payment.public_id == detail["paymentId"]
    assert payment.amount == 2490
    assert balance(demo, issued) == 2_510


def test_split_tender_with_two_codes(page, live_url, demo):
    first, second = voucher(demo, 1_500), voucher(demo, 2_000)
    order_id = open_shop(page, live_url)
    click_pay_button(page)

    add_code(page, first.code)
    frame(page).get_by_text("Still to pay: €9.90. Add another voucher.", exact=True).wait_for()
    assert frame(page).get_by_role("button", name="Pay €24.90").is_disabled()
    add_code(page, second.code)
    frame(page).get_by_role("button", name="Pay €24.90").click()

    page.locator("li.event-success").wait_for()
    payment = payment_of(demo, order_id)
    assert sorted(t["amount"] for t in payment.tenders) == [990, 1_500]
    assert (balance(demo, first), balance(demo, second)) == (0, 1_010)


def test_remembered_voucher_pays_the_next_order_in_one_click(page, live_url, demo):
    issued = voucher(demo, 10_000)
    open_shop(page, live_url)
    click_pay_button(page)
    add_code(page, issued.code)
    frame(page).get_by_label(re.compile("Remember my voucher")).check()
    frame(page).get_by_role("button", name="Pay €24.90").click()
    page.locator("li.event-success").wait_for()

    second_order = open_shop(page, live_url)
    click_pay_button(page)
    one_click = frame(page).get_by_role(
        "button", name=f"Pay €24.90 with voucher ••••{issued.code[-4:]}"
    )
    one_click.click()

    page.locator("li.event-success").wait_for()
    # The receipt names the voucher and its share, not what a remembered voucher has left.
    paid_with = frame(page).locator("#sp-receipt-vouchers")
    assert paid_with.inner_text() == f"Voucher ••••{issued.code[-4:]}: paid €24.90"
    assert payment_of(demo, second_order).tenders[0]["voucher"] == issued.public_id
    assert balance(demo, issued) == 10_000 - 2 * 2_490

    open_shop(page, live_url)
    click_pay_button(page)
    frame(page).get_by_role("button", name=re.compile("Forget voucher")).click()
    frame(page).get_by_label("Voucher code").wait_for()
    page.keyboard.press("Escape")
    open_shop(page, live_url)
    click_pay_button(page)
    frame(page).get_by_label("Voucher code").wait_for()
    assert frame(page).get_by_role("button", name=re.compile("with voucher ••••")).count() == 0


def test_escape_cancels(page, live_url, demo):
    order_id = open_shop(page, live_url)
    click_pay_button(page)
    frame(page).get_by_label("Voucher code").wait_for()
    frame(page).get_by_label("Voucher code").focus()

    page.keyboard.press("Escape")

    page.locator("li.event-cancel").wait_for()
    assert page.get_by_role("dialog").count() == 0
    assert payment_of(demo, order_id) is None
    # Keyboard only, from the page: the button opens the dialog, Escape closes it again.
    page.get_by_role("button", name="Pay €24.90 with a voucher").focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.locator("li.event-cancel").nth(1).wait_for()


def test_a_page_on_another_origin_is_refused(page, live_url, demo):
    other = live_url.replace("127.0.0.1", "localhost")
    page.goto(other + "/demo/shop/")
    page.locator("li.event-ready").wait_for()
    click_pay_button(page)

    page.locator("li.event-error").wait_for()
    # The shop's developer reads the detail in the event and the console; the shopper does not.
    assert "origin_not_allowed" in page.locator("li.event-error").inner_text()
    text = page.get_by_role("dialog").inner_text()
    assert "This shop's checkout is not set up correctly. Please contact the shop." in text
    assert "publishable key" not in text


def test_bad_attributes_render_a_polite_error_and_name_the_attribute(page, live_url, demo):
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.route(
        live_url + "/__shop__",
        lambda route: route.fulfill(
            content_type="text/html",
            body=(
                "<html><body><p id=before>Before</p>"
                f'<script src="{live_url}/widget.js" data-api-key="pk_test_nope" '
                'data-order-id="O-1"></script><p id=after>After</p></body></html>'
            ),
        ),
    )
    page.goto(live_url + "/__shop__")

    page.get_by_role("alert").wait_for()
    assert "unavailable" in page.get_by_role("alert").inner_text()
    assert page.locator("#after").inner_text() == "After"
    assert any("data-api-key" in message for message in messages)
