"""A new merchant, from the home page to the snippet with their own publishable key."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import read_mail_to

pytestmark = pytest.mark.django_db


def test_sign_up_verify_create_business_create_key_see_snippet(page, live_url, mail_dir):
    email = f"owner-{time.time_ns()}@corner.example"
    slug = f"corner-{time.time_ns() % 10**8}"

    page.goto(live_url + "/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.locator("#id_password1").fill("a long passphrase 4 shops")
    page.locator("#id_password2").fill("a long passphrase 4 shops")
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_text("Verify Your Email Address").first.wait_for()

    body = read_mail_to(mail_dir, email)
    link = re.search(r"(http://\S+/accounts/confirm-email/\S+)", body).group(1)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    page.get_by_role("heading", name="Create your business").wait_for()
    page.get_by_label("Business name").fill("Corner Bakery")
    page.get_by_label("Slug").fill("admin")  # reserved: a clear field error, nothing created
    page.get_by_label("Country").select_option("NL")
    page.get_by_label("Default currency").select_option("EUR")
    page.get_by_role("button", name="Create business").click()
    assert "reserved" in page.locator(".field-error").inner_text()

    page.get_by_label("Slug").fill(slug)
    page.get_by_role("button", name="Create business").click()
    page.get_by_role("heading", name="Overview").wait_for()
    assert page.url.endswith(f"/dashboard/{slug}/")
    # The business starts in test mode with its test keys; the secret is shown this once.
    assert page.locator("#test-mode-banner").is_visible()
    assert re.fullmatch(r"sk_test_\w{32}", page.locator("#new-secret-key").inner_text())
    assert re.fullmatch(r"pk_test_\w{32}", page.locator("#new-publishable-key").inner_text())
    page.reload()
    assert page.locator("#new-secret-key").count() == 0

    page.get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Name").fill("Shop widget")
    page.get_by_label("Kind").select_option("publishable")
    page.get_by_label("Allowed origins").fill("https://corner.example")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("code.key").first.inner_text()
    assert re.fullmatch(r"pk_test_\w{22,}", key)

    page.get_by_role("link", name="Overview").click()
    snippet = page.locator("#snippet").inner_text()
    assert f'data-api-key="{key}"' in snippet
    assert "/widget.js" in snippet
