"""Voucher portal pages in headless Chromium against a real gunicorn and a real Celery worker:
bulk issue with a live progress page and the CSV export of its codes, a CSV import refused for
one bad row with its downloadable report, and what a viewer may see. A merchant of its own,
committed and dropped at the end."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

from tests.browser.test_refund import _member, _sign_in
from tests.helpers import committed

pytestmark = pytest.mark.django_db

CSV_WITH_A_DUPLICATE = b"code,amount,currency\nBROWSERCODE0001,5.00,EUR\nBROWSERCODE0001,6.00,EUR\n"


@pytest.fixture(scope="module")
def shop(live_url, django_db_blocker):
    from tenants.services import provision_merchant

    slug = f"voucher-shop-{time.time_ns() % 10**9}"
    with django_db_blocker.unblock():
        merchant = committed(
            lambda: (
                provision_merchant(
                    slug=slug, name="Voucher Shop", country="DE", default_currency="EUR"
                ).merchant
            )
        )
        yield merchant
        committed(lambda: _drop(merchant))


def _drop(merchant) -> None:
    from django.db import connection

    from tenants.models import Merchant

    connection.set_schema_to_public()
    Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)


def _vouchers(merchant) -> list:
    from vouchers.models import Voucher

    return committed(lambda: list(Voucher.objects.order_by("pk")), merchant.schema_name)


def test_bulk_issue_shows_its_progress_and_exports_the_codes(page, live_url, shop, celery_worker):
    _sign_in(page, live_url, _member(shop, "owner"))
    page.goto(f"{live_url}/dashboard/{shop.slug}/vouchers/")
    page.get_by_role("link", name="Create in bulk").click()
    page.get_by_label("Count", exact=True).fill("30")
    page.get_by_label("Amount", exact=True).fill("12.50")
    page.get_by_label("Prefix", exact=True).fill("WEB")
    page.get_by_role("button", name="Start").click()

    page.locator("#job-done").wait_for(state="visible", timeout=60_000)
    assert page.locator("#job-status").inner_text() == "Succeeded"
    assert page.locator("#job-issued").inner_text() == "30"
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export their codes (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    vouchers = [v for v in _vouchers(shop) if v.job_id]
    assert len(rows) == 30
    assert {row["code"] for row in rows} == {v.code_display for v in vouchers}
    assert all(row["code"].startswith("WEB") and row["balance"] == "12.50" for row in rows)


def test_an_import_with_a_bad_row_imports_nothing_and_offers_the_report(page, live_url, shop):
    before = len(_vouchers(shop))
    _sign_in(page, live_url, _member(shop, "admin"))
    page.goto(f"{live_url}/dashboard/{shop.slug}/vouchers/import/")
    page.get_by_label("File", exact=True).set_input_files(
        files=[
            {
                "name": "vouchers.csv",
                "mimeType": "text/csv",
                "buffer": CSV_WITH_A_DUPLICATE,
            }
        ]
    )
    page.get_by_role("button", name="Import").click()

    assert "Nothing was imported: 1 problem" in page.locator("#import-problems").inner_text()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = Path(download_info.value.path()).read_text().splitlines()
    assert report == ["line,code,problem", "3,BROWSERCODE0001,Duplicate of the code on line 2."]
    assert len(_vouchers(shop)) == before


def test_a_viewer_sees_last4_only_and_no_buttons(page, live_url, shop):
    from vouchers.services import voucher_issue

    voucher = committed(
        lambda: voucher_issue(currency="EUR", amount=4_200, code="VIEWERCODE9876"),
        shop.schema_name,
    )
    _sign_in(page, live_url, _member(shop, "viewer"))
    page.goto(f"{live_url}/dashboard/{shop.slug}/vouchers/")
    assert page.get_by_role("link", name="Create a voucher").count() == 0
    page.get_by_role("link", name="…9876").click()

    assert page.locator("#balance").inner_text() == "42,00\xa0€ of 42,00\xa0€"  # de_DE
    assert "VIEW-ERCO-DE98-76" not in page.content()
    assert page.get_by_role("button", name="Disable").count() == 0
    assert voucher.code_last4 == "9876"
