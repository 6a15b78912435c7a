"""The overview's checklist ticks each step from the merchant's real data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from checkout.sessions import checkout_session_create
from tenants import keys
from tenants.selectors import onboarding_checklist
from vouchers.services import voucher_issue
from webhooks.endpoints import endpoint_create

pytestmark = pytest.mark.django_db


def _done(merchant) -> list[bool]:
    return [step.done for step in onboarding_checklist(merchant=merchant).steps]


def test_each_step_is_ticked_by_what_the_merchant_did(settings, in_merchant_a, owner_a):
    merchant = in_merchant_a
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert _done(merchant) == [False, False, False, False]
    assert onboarding_checklist(merchant=merchant).publishable_key == ""

    key, _ = keys.api_key_create(
        merchant=merchant, kind="publishable", mode="test", name="Widget", actor=owner_a
    )
    voucher_issue(currency="EUR", amount=1000)
    endpoint_create(url="http://127.0.0.1:9/hooks", enabled_events=["*"], livemode=False)
    # A session the merchant's server created is not the widget on a page yet...
    checkout_session_create(
        livemode=False,
        amount=990,
        currency="EUR",
        order_id="A-1",
        source=CheckoutSession.Source.SERVER,
    )
    assert _done(merchant) == [True, True, True, False]
    # ...one opened from a shop page is.
    checkout_session_create(
        livemode=False,
        amount=990,
        currency="EUR",
        order_id="A-2",
        source=CheckoutSession.Source.PAGE,
        origin="https://shop.example",
    )
    assert _done(merchant) == [True, True, True, True]
    assert onboarding_checklist(merchant=merchant).publishable_key == key.publishable_key


def test_the_overview_shows_the_snippet_with_the_merchants_key(client, merchant_a, owner_a):
    key, _ = keys.api_key_create(
        merchant=merchant_a, kind="publishable", mode="test", name="Widget", actor=owner_a
    )
    client.force_login(owner_a)
    page = client.get(reverse("portal:overview", kwargs={"slug": merchant_a.slug})).content.decode()
    assert f'data-api-key="{key.publishable_key}"' in page
    # With its currency the button shows the amount; the example amount fits the currency.
    assert 'data-amount="99.00"' in page and 'data-currency="EUR"' in page


def test_the_snippet_amount_fits_the_currency():
    from tenants.views import _snippet_amount

    assert (_snippet_amount("EUR"), _snippet_amount("JPY"), _snippet_amount("KWD")) == (
        "99.00",
        "99",
        "99.000",
    )


def _titles_done(merchant, *, livemode: bool) -> list[tuple[str, bool]]:
    return [
        (step.title, step.done)
        for step in onboarding_checklist(merchant=merchant, livemode=livemode).steps
    ]


def test_a_test_endpoint_never_ticks_the_live_checklist(settings, in_merchant_a, owner_a):
    """Reproduction: a test endpoint ticked "Add a webhook endpoint", so a live order was paid
    and the shop never told. Each mode's list is ticked by that mode's objects only."""
    merchant = in_merchant_a
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    keys.api_key_create(
        merchant=merchant, kind="publishable", mode="test", name="Widget", actor=owner_a
    )
    voucher_issue(currency="EUR", amount=1000)
    endpoint_create(url="http://127.0.0.1:9/hooks", enabled_events=["*"], livemode=False)

    assert _titles_done(merchant, livemode=True) == [
        ("Activate live mode", True),  # the suite's merchants are activated
        ("Create live API keys", False),
        ("Add live vouchers", False),
        ("Add a live webhook endpoint", False),
        ("Embed the widget", False),
    ]
    assert _titles_done(merchant, livemode=False) == [
        ("Create test API keys", True),
        ("Add test vouchers", True),
        ("Add a test webhook endpoint", True),
        ("Embed the widget", False),
    ]

    endpoint_create(url="http://127.0.0.1:9/live", enabled_events=["*"], livemode=True)
    assert ("Add a live webhook endpoint", True) in _titles_done(merchant, livemode=True)


def test_the_live_checklist_starts_with_activation(in_merchant_a):
    merchant = in_merchant_a
    merchant.live_activated_at = None
    [first, *_] = onboarding_checklist(merchant=merchant, livemode=True).steps
    assert (first.title, first.done) == ("Activate live mode", False)
    assert first.url == reverse("portal:live_activation", kwargs={"slug": merchant.slug})


def test_the_overview_shows_the_checklist_of_the_mode_viewed(client, merchant_a, owner_a):
    client.force_login(owner_a)
    url = reverse("portal:overview", kwargs={"slug": merchant_a.slug})
    live = client.get(url + "?mode=live").content.decode()
    test = client.get(url + "?mode=test").content.decode()
    assert "Get started in live mode" in live and "Activate live mode" in live
    assert "Get started in test mode" in test and "Create test API keys" in test
