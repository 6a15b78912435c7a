"""Refunding from the payment's page, as an owner and as a viewer, in headless Chromium against a
real gunicorn. The merchant, its members and its payment are committed (a merchant of its own,
dropped at the end)."""

from __future__ import annotations

import re
import time

import pytest
from django_tenants.utils import schema_context

from tests.helpers import committed

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shop(live_url, django_db_blocker):
    from tenants.services import provision_merchant

    slug = f"refund-shop-{time.time_ns() % 10**9}"
    with django_db_blocker.unblock():
        merchant = committed(
            lambda: (
                provision_merchant(
                    slug=slug, name="Refund Shop", country="DE", default_currency="EUR"
                ).merchant
            )
        )
        yield merchant
        committed(lambda: _drop(merchant))


def _drop(merchant) -> None:
    from django.db import connection

    from checkout.models import Payment
    from tenants.models import Merchant
    from tests.checkout.support import commission_entries_purge

    with schema_context(merchant.schema_name):
        ids = list(Payment.objects.values_list("public_id", flat=True))
    commission_entries_purge(ids)
    connection.set_schema_to_public()
    Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)


def _member(merchant, role: str):
    from tests.factories import MembershipFactory, UserFactory

    def make():
        user = UserFactory(email=f"{role}-{time.time_ns()}@refund-shop.example")
        MembershipFactory(merchant=merchant, user=user, role=role)
        return user

    return committed(make)


def _paid(merchant, *, amount: int, voucher_amount: int):
    from tests.checkout.factories_payments import payment_make

    return committed(
        lambda: payment_make(
            merchant,
            vouchers=(voucher_amount,),
            amount=amount,
            order_id=f"WEB-{time.time_ns()}",
        )
    )


def _balance(merchant, voucher) -> int:
    from vouchers.models import Voucher

    return committed(lambda: Voucher.objects.get(pk=voucher.pk).balance, merchant.schema_name)


def _sign_in(page, live_url: str, user) -> None:
    """A signed-in session for `user`, as the login form would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def create() -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    key = committed(create)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_url}]
    )


def _payment_url(live_url: str, merchant, payment) -> str:
    return f"{live_url}/dashboard/{merchant.slug}/payments/{payment.public_id}/"


def test_owner_refunds_from_the_payment_page(page, live_url, shop):
    payment, (voucher,) = _paid(shop, amount=3_000, voucher_amount=5_000)
    assert _balance(shop, voucher) == 2_000
    _sign_in(page, live_url, _member(shop, "owner"))

    page.goto(f"{live_url}/dashboard/{shop.slug}/payments/")
    page.get_by_role("link", name=payment.order_id).click()
    assert page.locator("#refund-status").inner_text() == "Succeeded"
    page.get_by_role("link", name="Refund…").click()
    page.get_by_label("Amount (EUR)").fill("10.00")
    page.get_by_label("Reason (optional)").fill("One item returned")
    page.get_by_role("button", name="Review refund").click()
    # A German shop: its amounts read in de_DE.
    assert "Refund 10,00\xa0€" in page.locator("#refund-summary").inner_text()
    page.get_by_role("button", name="Confirm refund of 10,00\xa0€").click()

    page.get_by_text("Refunded 10,00\xa0€; the vouchers hold it again.").wait_for()
    assert page.url == _payment_url(live_url, shop, payment)
    assert page.locator("#refunded").inner_text() == "10,00\xa0€"
    assert page.locator("#refund-status").inner_text() == "Partially refunded"
    row = page.locator("#refunds tbody tr")
    assert row.count() == 1
    assert "One item returned" in row.inner_text()
    assert _balance(shop, voucher) == 3_000

    page.get_by_role("link", name=f"…{voucher.code_last4}").click()
    assert page.locator("#balance").inner_text() == "30,00\xa0€ of 50,00\xa0€"


def test_viewer_sees_no_refund_button_and_a_forged_post_answers_403(page, live_url, shop):
    payment, (voucher,) = _paid(shop, amount=1_000, voucher_amount=1_000)
    _sign_in(page, live_url, _member(shop, "viewer"))

    page.goto(_payment_url(live_url, shop, payment))
    page.get_by_role("heading", name=re.compile("Payment")).wait_for()
    assert page.locator("#tenders").inner_text().count(voucher.code_last4) == 1
    assert page.get_by_role("link", name="Refund…").count() == 0
    assert page.locator("#refund-button").count() == 0

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        f"{_payment_url(live_url, shop, payment)}refund/",
        form={"csrfmiddlewaretoken": token, "amount": "10.00", "confirm": "yes"},
        headers={"X-CSRFToken": token, "Referer": _payment_url(live_url, shop, payment)},
    )
    assert forged.status == 403
    assert "CSRF" not in forged.text()  # refused for the role, not for the token
    assert _balance(shop, voucher) == 0
