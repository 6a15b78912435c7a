"""The whole chain a merchant relies on: the widget pays, the outbox event is delivered by the
real dispatcher as a signed webhook, the demo shop's backend verifies it, and only then does the
shop page say the order is paid."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.browser.conftest import web_server
from tests.browser.test_checkout import DEMO, _drop, click_pay_button, frame, open_shop, voucher
from tests.helpers import committed
from tests.webhooks.support import Dispatcher

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook_shop(test_database_url, mail_dir, django_db_blocker):
    """A web server and the webhooks dispatcher, both allowed private addresses, and the demo
    merchant with its widget key and webhook endpoint on that server."""
    from checkout.demo import demo_checkout_ensure
    from checkout.demo_backend import demo_webhook_endpoint_ensure
    from tenants.services import provision_merchant

    servers = web_server(test_database_url, mail_dir, WEBHOOKS_ALLOW_PRIVATE="1")
    base = next(servers)
    worker = Dispatcher(database_url=test_database_url).start()
    with (
        django_db_blocker.unblock(),
        override_settings(PUBLIC_BASE_URL=base, WEBHOOKS_ALLOW_PRIVATE=True),
    ):
        merchant = committed(lambda: provision_merchant(**DEMO).merchant)
        committed(lambda: demo_checkout_ensure(merchant=merchant, base_url=base))
        committed(lambda: demo_webhook_endpoint_ensure(merchant=merchant))
        try:
            yield base, merchant
        finally:
            worker.stop()
            committed(lambda: _drop(merchant))
            servers.close()


def test_the_shop_marks_the_order_paid_only_when_the_signed_webhook_arrives(page, webhook_shop):
    base, merchant = webhook_shop
    issued = voucher(merchant, 5_000)
    order_id = open_shop(page, base)
    status = page.locator("#order-status")
    assert status.inner_text() == "not paid yet"

    click_pay_button(page)
    frame(page).get_by_label("Voucher code").fill(issued.code)
    frame(page).get_by_role("button", name="Add").click()
    frame(page).get_by_role("button", name="Pay €24.90").click()
    page.locator("li.event-success").wait_for()

    page.get_by_text("paid — confirmed by webhook").wait_for(timeout=30_000)
    order = page.evaluate("id => fetch('/demo/shop/orders/' + id).then(r => r.json())", order_id)
    assert order["status"] == "paid"
    assert (order["amount"], order["currency"]) == (2490, "EUR")
