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
