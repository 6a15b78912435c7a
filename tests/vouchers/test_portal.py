"""Portal pages for vouchers: who sees what, create, manage, bulk, CSV import and export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import schema_context

from tests.conftest import member_of
from vouchers.job_models import VoucherJob
from vouchers.jobs import voucher_job_run
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db


def url(name: str, merchant, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"slug": merchant.slug, **kwargs})


def issue(merchant, **kwargs) -> Voucher:
    with schema_context(merchant.schema_name):
        return voucher_issue(**({"currency": "EUR", "amount": 2500} | kwargs))


def vouchers_of(merchant):
    with schema_context(merchant.schema_name):
        return list(Voucher.objects.order_by("pk"))


@pytest.fixture
def owner_client(client, merchant_a):
    client.force_login(member_of(merchant_a, "owner"))
    return client


@pytest.fixture
def viewer_client(client, merchant_a):
    client.force_login(member_of(merchant_a, "viewer"))
    return client


def test_the_list_shows_last4_only_with_status_chips(owner_client, merchant_a):
    voucher = issue(merchant_a, code="LISTCODEAAAA2345")
    issue(merchant_a, amount=100, livemode=True)

    page = owner_client.get(url("vouchers", merchant_a)).content.decode()

    assert "…2345" in page
    assert "LISTCODEAAAA2345" not in page and "LIST-CODE" not in page
    assert "All (1)" in page and "Active (1)" in page and "Disabled (0)" in page
    assert url("voucher_detail", merchant_a, voucher_id=voucher.public_id) in page
    live = owner_client.get(url("vouchers", merchant_a) + "?mode=live").content.decode()
    assert "…2345" not in live and "All (1)" in live


def test_the_full_code_is_shown_to_owners_and_admins_only(client, merchant_a):
    voucher = issue(merchant_a, code="FULLCODEBBBB6789")
    page_url = url("voucher_detail", merchant_a, voucher_id=voucher.public_id)
    seen = {}
    for role in ("owner", "admin", "developer", "viewer"):
        client.force_login(member_of(merchant_a, role))
        response = client.get(page_url)
        assert response.status_code == 200
        seen[role] = "FULL-CODE-BBBB-6789" in response.content.decode()
    assert seen == {"owner": True, "admin": True, "developer": False, "viewer": False}


def test_a_viewer_can_read_but_not_write(viewer_client, merchant_a):
    voucher = issue(merchant_a)
    assert viewer_client.get(url("vouchers", merchant_a)).status_code == 200
    assert viewer_client.get(url("voucher_create", merchant_a)).status_code == 403
    assert viewer_client.get(url("voucher_export", merchant_a)).status_code == 403
    disable = viewer_client.post(
        url("voucher_status", merchant_a, voucher_id=voucher.public_id), {"action": "disable"}
    )
    assert disable.status_code == 403
    assert vouchers_of(merchant_a)[0].status == "active"


def test_create_one_from_the_portal(owner_client, merchant_a, owner_a):
    response = owner_client.post(
        url("voucher_create", merchant_a),
        {"mode": "test", "currency": "EUR", "amount": "12.50", "code": "", "single_use": "on"},
    )

    (voucher,) = vouchers_of(merchant_a)
    assert response.status_code == 302
    assert response["Location"] == url("voucher_detail", merchant_a, voucher_id=voucher.public_id)
    assert (voucher.initial_amount, voucher.rules, voucher.livemode) == (
        1250,
        {"single_use": True},
        False,
    )
    bad = owner_client.post(
        url("voucher_create", merchant_a), {"mode": "test", "currency": "EUR", "amount": "1.234"}
    )
    assert bad.status_code == 200
    assert "at most 2 decimal places" in bad.content.decode()


def test_disable_enable_and_adjust_with_a_reason(owner_client, merchant_a):
    voucher = issue(merchant_a, amount=1000)
    detail = url("voucher_detail", merchant_a, voucher_id=voucher.public_id)
    status_url = url("voucher_status", merchant_a, voucher_id=voucher.public_id)
    adjust_url = url("voucher_adjust", merchant_a, voucher_id=voucher.public_id)

    assert owner_client.post(status_url, {"action": "disable"})["Location"] == detail
    assert vouchers_of(merchant_a)[0].status == "disabled"
    owner_client.post(status_url, {"action": "enable"})
    assert vouchers_of(merchant_a)[0].status == "active"

    owner_client.post(adjust_url, {"amount": "-2.50", "reason": ""})
    assert vouchers_of(merchant_a)[0].balance == 1000
    owner_client.post(adjust_url, {"amount": "-2.50", "reason": "Damaged card"})
    assert vouchers_of(merchant_a)[0].balance == 750
    page = owner_client.get(detail).content.decode()
    assert "Damaged card" in page and "7,50\xa0€" in page
    with schema_context(merchant_a.schema_name):
        entry = VoucherLedgerEntry.objects.filter(kind="adjustment").get()
    assert (entry.amount, entry.reason) == (-250, "Damaged card")


def test_bulk_create_makes_a_job_whose_progress_the_page_polls(owner_client, merchant_a):
    response = owner_client.post(
        url("voucher_bulk", merchant_a),
        {"mode": "test", "currency": "EUR", "amount": "5", "count": "4", "prefix": "BULK"},
    )
    with schema_context(merchant_a.schema_name):
        job = VoucherJob.objects.get()
    assert response["Location"] == url("voucher_job", merchant_a, job_id=job.public_id)
    state = owner_client.get(response["Location"] + "?format=json").json()
    assert state == {
        "id": job.public_id,
        "status": "queued",
        "count": 4,
        "issued_count": 0,
        "error": "",
    }
    with schema_context(merchant_a.schema_name):
        voucher_job_run(job_pk=job.pk)
    state = owner_client.get(response["Location"] + "?format=json").json()
    assert (state["status"], state["issued_count"]) == ("succeeded", 4)
    assert all(v.code.startswith("BULK") and v.balance == 500 for v in vouchers_of(merchant_a))


def upload(client, merchant, text: str, mode: str = "test"):
    file = SimpleUploadedFile("vouchers.csv", text.encode(), content_type="text/csv")
    return client.post(url("voucher_import", merchant), {"mode": mode, "file": file})


def test_an_import_with_one_bad_row_imports_nothing_and_reports_every_problem(
    owner_client, merchant_a
):
    issue(merchant_a, code="EXISTINGCODE2345")
    text = (
        "code,amount,currency,expires_at\n"
        "GOODCODE00AAAA,10.00,EUR,2099-01-01\n"
        "GOODCODE00BBBB,20.00,EUR,\n"
        "BAD,5.00,EUR,\n"
        "GOOD-CODE-00AAAA,1.00,EUR,\n"
        "EXISTING-CODE-2345,1.00,EUR,\n"
        "GOODCODE00CCCC,1.234,EUR,\n"
        "GOODCODE00DDDD,1.00,EUR,2001-01-01\n"
    )

    response = upload(owner_client, merchant_a, text)

    assert response.status_code == 200
    assert len(vouchers_of(merchant_a)) == 1  # only the one that existed
    token = response.context["report_token"]
    report = owner_client.get(url("voucher_import_report", merchant_a) + f"?token={token}")
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(report.content.decode()))) == [
        ["line", "code", "problem"],
        [
            "4",
            "BAD",
            "A voucher code is 12 to 64 letters or digits (dashes and spaces are ignored).",
        ],
        ["5", "GOOD-CODE-00AAAA", "Duplicate of the code on line 2."],
        ["6", "EXISTING-CODE-2345", "This code already exists."],
        ["7", "GOODCODE00CCCC", "EUR amounts have at most 2 decimal places."],
        ["8", "GOODCODE00DDDD", "expires_at is in the past."],
    ]


def test_a_valid_import_issues_every_row(owner_client, merchant_a):
    text = "code,amount,currency\nIMPORTCODE0001,10.00,EUR\nIMPORTCODE0002,500,JPY\n"

    response = upload(owner_client, merchant_a, text, mode="live")

    assert response.status_code == 302
    got = [(v.code, v.initial_amount, v.currency, v.livemode) for v in vouchers_of(merchant_a)]
    assert got == [("IMPORTCODE0001", 1000, "EUR", True), ("IMPORTCODE0002", 500, "JPY", True)]
    with schema_context(merchant_a.schema_name):
        assert VoucherLedgerEntry.objects.filter(kind="issue").count() == 2


def test_a_bad_header_is_reported(owner_client, merchant_a):
    response = upload(owner_client, merchant_a, "voucher,value\nX,1\n")
    assert response.context["problem_count"] == 1
    assert "missing: code, amount, currency" in response.content.decode()


def test_the_export_streams_every_voucher_with_its_full_code(owner_client, merchant_a):
    with schema_context(merchant_a.schema_name):
        from vouchers.services import voucher_issue_bulk

        voucher_issue_bulk(count=2500, currency="EUR", amount=1999)
    issue(merchant_a, amount=1, livemode=True)

    response = owner_client.get(url("voucher_export", merchant_a))

    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == ["id", "code", "currency", "initial_amount", "balance", "status"]
    assert len(rows) == 2501  # test mode only
    codes = {v.code_display for v in vouchers_of(merchant_a) if not v.livemode}
    assert {row[1] for row in rows[1:]} == codes
    assert {(row[2], row[3], row[4], row[6]) for row in rows[1:]} == {
        ("EUR", "19.99", "19.99", "false")
    }


def test_one_search_box_finds_a_pasted_code_its_last_characters_or_its_id(owner_client, merchant_a):
    wanted = issue(merchant_a, code="SRCHCODEAAAA2345")
    issue(merchant_a, code="SRCHCODEBBBB6789")

    def found(q: str) -> bool:
        page = owner_client.get(url("vouchers", merchant_a), {"q": q}).content.decode()
        assert "…6789" not in page or "…2345" not in page  # never both: it filtered
        return "…2345" in page

    assert found("SRCH-CODE-AAAA-2345")  # pasted whole, grouped
    assert found(" srch code aaaa 2345 ")
    assert found("2345") and found("a-2345")
    assert found(wanted.public_id)
    assert not found("SRCH-CODE-AAAA-2346")
