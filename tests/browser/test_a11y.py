"""Every page of the portal, the account pages, the finance and admin consoles, the checkout frame
and the demo shop, as each role meets them, in headless Chromium against a real gunicorn:
axe-core finds no critical or serious violation at 1280x800 nor at 390x844 (a phone), and on the
phone no page is wider than the viewport.

The merchant, its members, payment, refund, webhook delivery and invoice are committed (a merchant
of its own, dropped at the end); the staff users have a real TOTP authenticator, and sessions are
made as the login form (and its two-factor step) would leave them."""

from __future__ import annotations

import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django_tenants.utils import schema_context

from tests.helpers import committed

pytestmark = pytest.mark.django_db

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING = {"critical", "serious"}
AXE = Axe()


def _drop(merchant) -> None:
    from django.db import connection, transaction

    from billing.models import Invoice
    from checkout.models import Payment
    from tenants.models import Merchant
    from tests.checkout.support import commission_entries_purge

    with schema_context(merchant.schema_name):
        ids = list(Payment.objects.values_list("public_id", flat=True))
    commission_entries_purge(ids)
    connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        # A finalized invoice is guarded against deletion by a trigger; this throwaway one goes
        # with its test merchant, the trigger off for this transaction only.
        cursor.execute("SET LOCAL session_replication_role = replica")
        Invoice.objects.filter(merchant=merchant).delete()
    Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)


def _world(slug: str) -> dict:
    """A merchant with one of everything a page lists."""
    from django.utils import timezone

    from checkout.refunds import payment_refund
    from tenants.keys import api_key_create
    from tenants.services import provision_merchant
    from tests.billing.support import open_invoice
    from tests.checkout.factories_payments import payment_make
    from webhooks.delivery import attempt_record
    from webhooks.endpoints import endpoint_create
    from webhooks.http import SendResult
    from webhooks.models import Delivery

    merchant = provision_merchant(
        slug=slug, name="Accessible Shop", country="DE", default_currency="EUR"
    ).merchant
    api_key_create(merchant=merchant, kind="publishable", mode="test", name="Shop", actor=None)
    with schema_context(merchant.schema_name):
        endpoint = endpoint_create(
            url="https://shop.example/hooks", enabled_events=["*"], livemode=False
        )
        payment, (voucher, _) = payment_make(merchant, vouchers=(5_000, 2_000), amount=6_000)
        payment_refund(payment=payment, amount=1_000, reason="Returned", merchant=merchant)
        delivery = Delivery.objects.select_related("endpoint").filter(endpoint=endpoint).first()
        attempt_record(
            delivery=delivery,
            attempted_at=timezone.now(),
            headers={"webhook-id": "msg_1"},
            result=SendResult(status_code=500, response_body="Internal error"),
            url=endpoint.url,
        )
    invoice = open_invoice(merchant, number=f"SP-2026-{time.time_ns() % 10**6:06d}")
    return {
        "merchant": merchant,
        "payment": payment.public_id,
        "voucher": voucher.public_id,
        "endpoint": endpoint.public_id,
        "delivery": delivery.public_id,
        "invoice": invoice.pk,
    }


@pytest.fixture(scope="module")
def world(live_url, django_db_blocker):
    with django_db_blocker.unblock():
        made = committed(lambda: _world(f"a11y-shop-{time.time_ns() % 10**9}"))
        yield made
        committed(lambda: _drop(made["merchant"]))


def _user(*, merchant=None, role: str = "", staff: bool = False, groups=(), totp: bool = False):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.models import Group

    from tests.factories import MembershipFactory, UserFactory

    def make():
        user = UserFactory(
            email=f"{role or 'staff'}-{time.time_ns()}@a11y.example",
            is_staff=staff,
            is_superuser=staff and not groups,
        )
        for name in groups:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        if merchant is not None:
            MembershipFactory(merchant=merchant, user=user, role=role)
        if totp:
            TOTP.activate(user, generate_totp_secret())
        return user

    return committed(make)


def _sign_in(page, live_url: str, user) -> None:
    """A session as the login form, and its two-factor step when the user has one, leave it."""
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

    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": committed(create), "url": live_url}]
    )


def _violations(page, url: str, size: str) -> list[str]:
    found = []
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{url} ({size}): {violation['id']} ({violation['impact']}) at {targets}")
    return found


def _problems(page, url: str) -> list[str]:
    """axe-core's critical and serious violations on `url` at desktop size and again at a
    phone's (the layout changes there: the menu wraps, tables scroll, chart labels thin out),
    and whether the page fits the phone's width."""
    page.set_viewport_size(DESKTOP)
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    found = _violations(page, url, "1280x800")
    page.set_viewport_size(PHONE)
    found += _violations(page, url, "390x844")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        found.append(f"{url}: {widths[0]} px wide at {PHONE['width']} px: {_overflowing(page)}")
    return found


def _overflowing(page) -> list[str]:
    """The innermost elements that reach past the viewport's right edge, to say what to fix."""
    return page.evaluate(
        """() => [...document.body.querySelectorAll("*")]
          .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
          .filter(el => ![...el.children].some(
              child => child.getBoundingClientRect().right > window.innerWidth + 0.5))
          .slice(0, 4)
          .map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
               + (el.id ? "#" + el.id : ""))"""
    )


def _check(page, urls: list[str]) -> None:
    found = [problem for url in urls for problem in _problems(page, url)]
    assert found == [], "\n".join(found)


def _portal_urls(live_url: str, world: dict) -> list[str]:
    base = f"{live_url}/dashboard/{world['merchant'].slug}"
    return [
        f"{base}/",
        f"{base}/vouchers/",
        f"{base}/vouchers/{world['voucher']}/",
        f"{base}/vouchers/new/",
        f"{base}/vouchers/bulk/",
        f"{base}/vouchers/import/",
        f"{base}/payments/",
        f"{base}/payments/{world['payment']}/",
        f"{base}/payments/{world['payment']}/refund/",
        f"{base}/keys/",
        f"{base}/webhooks/",
        f"{base}/webhooks/{world['endpoint']}/",
        f"{base}/webhooks/{world['endpoint']}/deliveries/{world['delivery']}/",
        f"{base}/webhooks/events/",
        f"{base}/team/",
        f"{base}/audit/",
        f"{base}/billing/",
        f"{base}/billing/invoices/{world['invoice']}/",
        f"{base}/settings/",
        f"{base}/?range=12m",
        f"{base}/?range=custom&from=2026-01-01&to=2026-03-31",
    ]


def test_portal_pages_as_owner(page, live_url, world):
    _sign_in(page, live_url, _user(merchant=world["merchant"], role="owner"))
    _check(page, _portal_urls(live_url, world) + [f"{live_url}/dashboard/new/"])


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_portal_pages_as_other_roles(page, live_url, world, role):
    _sign_in(page, live_url, _user(merchant=world["merchant"], role=role))
    base = f"{live_url}/dashboard/{world['merchant'].slug}"
    urls = [f"{base}/", f"{base}/payments/{world['payment']}/", f"{base}/webhooks/events/"]
    more = [f"{base}/vouchers/{world['voucher']}/", f"{base}/team/", f"{base}/settings/"]
    _check(page, urls + more)


def test_account_pages_signed_out(page, live_url):
    pages = ["login/", "signup/", "password/reset/"]
    _check(page, [f"{live_url}/accounts/{name}" for name in pages] + [f"{live_url}/"])


def test_account_pages_signed_in_and_a_flash_message(page, live_url, world):
    user = _user(merchant=world["merchant"], role="owner")
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    page.locator(".messages").first.wait_for()
    found = _violations(page, page.url, "1280x720")
    page.set_viewport_size(PHONE)
    found += _violations(page, page.url, "390x844")
    assert found == [], "\n".join(found)
    pages = ["email/", "password/change/", "2fa/", "2fa/totp/activate/", "sessions/"]
    _check(page, [f"{live_url}/accounts/{name}" for name in pages])


def test_finance_console_pages(page, live_url, world):
    _sign_in(page, live_url, _user(staff=True, groups=["finance"], totp=True))
    urls = ["", "?months=36", "invoices/", f"invoices/{world['invoice']}/", "runs/", "liability/"]
    accounts = [f"{live_url}/accounts/2fa/", f"{live_url}/accounts/2fa/totp/deactivate/"]
    _check(page, [f"{live_url}/finance/{url}" for url in urls] + accounts)


def test_admin_console_pages(page, live_url, world):
    _sign_in(page, live_url, _user(staff=True, totp=True))
    merchant = world["merchant"]
    urls = [
        "",
        "tenants/merchant/",
        f"tenants/merchant/{merchant.pk}/change/",
        f"tenants/merchant/{merchant.pk}/suspend/",
        "tenants/apikey/",
        "tenants/auditlog/",
        "usersessions/usersession/",
        "billing/commissionplan/",
    ]
    _check(page, [f"{live_url}/admin/{url}" for url in urls])


@pytest.fixture
def demo(live_url, django_db_blocker):
    from checkout.demo import demo_checkout_ensure
    from tenants.services import provision_merchant

    spec = {"slug": "demo-shop", "name": "Demo Shop", "country": "DE", "default_currency": "EUR"}
    with django_db_blocker.unblock():
        merchant = committed(lambda: provision_merchant(**spec).merchant)
        committed(lambda: demo_checkout_ensure(merchant=merchant, base_url=live_url))
        yield merchant
        committed(lambda: _drop(merchant))


def test_demo_shop_and_checkout_frame(page, live_url, demo):
    _check(page, [f"{live_url}/demo/shop/"])
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_url}/demo/shop/")
    page.locator("li.event-ready").wait_for()
    page.get_by_role("button", name="Pay €24.90 with a voucher").click()
    handle = page.locator("iframe[title^='SuperPayment']").element_handle()
    frame = handle.content_frame()
    frame.locator("input").first.wait_for()
    _check(page.context.new_page(), [frame.url])
