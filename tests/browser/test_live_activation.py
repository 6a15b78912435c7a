"""The live activation journey in headless Chromium: a new business is in test mode with its
banner, the switch (a keyboard-operable switch) shows live mode refused until activation, an
owner adds a live webhook endpoint, gives the business details and accepts the terms, and then
creates a live key."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.test_refund import _member, _sign_in
from tests.browser.test_vouchers import _drop
from tests.helpers import committed

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(live_url, django_db_blocker):
    from tenants.services import provision_merchant

    slug = f"live-shop-{time.time_ns() % 10**9}"
    with django_db_blocker.unblock():
        merchant = committed(
            lambda: (
                provision_merchant(
                    slug=slug, name="Live Shop", country="DE", default_currency="EUR"
                ).merchant
            )
        )
        yield merchant
        committed(lambda: _drop(merchant))


def test_an_owner_activates_live_mode_and_creates_a_live_key(page, live_url, shop):
    _sign_in(page, live_url, _member(shop, "owner"))
    page.goto(f"{live_url}/dashboard/{shop.slug}/?mode=test")
    assert page.locator("#test-mode-banner").is_visible()

    switch = page.get_by_role("switch", name="Test mode")
    assert switch.get_attribute("aria-checked") == "true"
    switch.focus()
    page.keyboard.press("Space")
    page.locator("#live-inactive-banner").wait_for()
    assert page.get_by_role("switch", name="Test mode").get_attribute("aria-checked") == "false"
    assert page.locator("#test-mode-banner").count() == 0
    assert "Get started in live mode" in page.content()

    # A live key is refused, with the way out.
    page.get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Name").fill("Live backend")
    page.get_by_label("Kind").select_option("secret")
    page.get_by_label("Mode").select_option("live")
    page.get_by_role("button", name="Create key").click()
    refusal = page.locator(".form-errors").inner_text()
    assert "Live mode is not activated for this account" in refusal

    # Activation needs a live webhook endpoint first.
    page.locator("#live-keys-locked").get_by_role("link", name="Activate live mode").click()
    page.get_by_role("heading", name="Activate live mode").wait_for()
    page.get_by_label("Legal name").fill("Live Shop GmbH")
    page.get_by_label("Registered address").fill("Hauptstraße 1, 10115 Berlin")
    page.get_by_label("VAT ID (if the business has one)").fill("DE 136 695 976")
    page.get_by_label("I accept the SuperPayment terms of service").check()
    page.get_by_role("button", name="Activate live mode").click()
    assert "Add a live webhook endpoint" in page.locator(".form-errors").inner_text()
    assert page.get_by_label("Legal name").input_value() == "Live Shop GmbH"  # input kept

    page.get_by_role("link", name="add a live endpoint").click()
    assert page.get_by_label("Mode").input_value() == "live"  # the portal's mode
    page.get_by_label("Endpoint URL").fill("https://live-shop.example/webhooks")
    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_text("Endpoint added.").wait_for()

    page.goto(f"{live_url}/dashboard/{shop.slug}/activate/")
    page.get_by_label("Legal name").fill("Live Shop GmbH")
    page.get_by_label("Registered address").fill("Hauptstraße 1, 10115 Berlin")
    page.get_by_label("I accept the SuperPayment terms of service").check()
    page.get_by_role("button", name="Activate live mode").click()
    page.locator("#live-activated").wait_for()
    assert page.locator("#live-inactive-banner").count() == 0

    page.get_by_role("link", name="Create live API keys").click()
    page.get_by_label("Name").fill("Live backend")
    page.get_by_label("Kind").select_option("secret")
    page.get_by_label("Mode").select_option("live")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#secret-key").inner_text().strip()
    assert re.fullmatch(r"sk_live_[0-9A-Za-z]{32}", secret)

    page.get_by_role("link", name="Audit log").click()
    assert "merchant.live_activated" in page.content()
