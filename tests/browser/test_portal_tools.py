"""In headless Chromium against a real gunicorn: copy buttons copy and say so, the overview's
chart is reachable and readable with the keyboard over a long range, and the account's Sessions
page signs another browser out."""

from __future__ import annotations

import time

import pytest

from tests.browser.test_a11y import PHONE, _drop, _sign_in, _user, _world
from tests.helpers import committed

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shop(live_url, django_db_blocker):
    with django_db_blocker.unblock():
        made = committed(lambda: _world(f"tools-shop-{time.time_ns() % 10**9}"))
        yield made
        committed(lambda: _drop(made["merchant"]))


def _log_in(page, live_url: str, user) -> None:
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_copy_button_copies_the_id_from_the_keyboard_and_announces_it(page, live_url, shop):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    _sign_in(page, live_url, _user(merchant=shop["merchant"], role="owner"))
    page.goto(f"{live_url}/dashboard/{shop['merchant'].slug}/payments/{shop['payment']}/")
    button = page.get_by_role("button", name="Copy payment id")
    button.focus()
    page.keyboard.press("Enter")
    page.locator("#copy-status").filter(has_text="Copied payment id").wait_for()
    assert button.locator(".copy-state").inner_text() == "Copied"
    assert page.evaluate("navigator.clipboard.readText()") == shop["payment"]
    # The order id's button copies the order id, not the payment's.
    page.get_by_role("button", name="Copy order id").click()
    page.locator("#copy-status").filter(has_text="Copied order id").wait_for()
    assert page.evaluate("navigator.clipboard.readText()").startswith("ORD-")


def test_the_chart_over_90_days_is_read_with_the_keyboard(page, live_url, shop):
    _sign_in(page, live_url, _user(merchant=shop["merchant"], role="viewer"))
    page.goto(f"{live_url}/dashboard/{shop['merchant'].slug}/?mode=test")
    page.get_by_role("link", name="90 days").click()
    page.wait_for_url("**range=90d**")
    points = page.locator("#volume-chart .point")
    assert points.count() == 90
    # One tab stop after the range form, on today's bar; its tooltip shows the day's payment.
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.endswith("Paid 60,00\xa0€, 1 payment")
    tip = page.locator("#volume-chart .chart-tip")
    assert tip.is_visible() and "60,00\xa0€" in tip.inner_text()
    page.keyboard.press("ArrowLeft")
    yesterday = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert yesterday.endswith("Paid 0,00\xa0€, 0 payments") and yesterday != focused
    assert "0 payments" in tip.inner_text()
    page.keyboard.press("Home")
    assert (
        page.evaluate("document.activeElement.dataset.tip").split("|")[0]
        == points.first.get_attribute("data-tip").split("|")[0]
    )
    page.keyboard.press("Escape")
    assert not tip.is_visible()
    # The y axis reads in the business's locale (a German shop), the x axis too.
    assert "€" in page.locator("#volume-chart .chart-y text").last.text_content()
    # Twelve months: a bar per month; the page fits a phone.
    page.get_by_role("link", name="12 months").click()
    page.wait_for_url("**range=12m**")
    assert points.count() == 12
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    points.last.focus()
    box = page.locator("#volume-chart .chart-tip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_signing_out_another_browser_from_the_sessions_page(browser, live_url, shop):
    user = _user(merchant=shop["merchant"], role="developer")
    laptop = browser.new_context(
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36"
    )
    phone = browser.new_context(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    try:
        on_laptop, on_phone = laptop.new_page(), phone.new_page()
        _log_in(on_laptop, live_url, user)
        _log_in(on_phone, live_url, user)
        on_laptop.get_by_role("link", name="Sessions").click()
        sessions = on_laptop.locator("li.session")
        assert sessions.count() == 2
        current = on_laptop.locator("li.session.current")
        assert (
            "Chrome 140 on Linux" in current.inner_text() and "This browser" in current.inner_text()
        )
        other = on_laptop.locator("li.session:not(.current)")
        assert "Mobile Safari 17 on iOS (iPhone)" in other.inner_text()
        other.get_by_role("button", name="Sign out").click()
        on_laptop.get_by_text("That session is signed out.").wait_for()
        assert on_laptop.locator("li.session").count() == 1
        on_phone.reload()
        assert "/accounts/login/" in on_phone.url
        on_laptop.reload()
        assert "/accounts/sessions/" in on_laptop.url
    finally:
        laptop.close()
        phone.close()
