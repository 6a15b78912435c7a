"""The merchant's Billing pages and the finance console's permissions."""

from __future__ import annotations

from datetime import date

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import Invoice
from tenants.models import AuditLog
from tests.billing.support import open_invoice, pay
from tests.conftest import member_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_owner_sees_running_commission_invoices_pdf_and_csv(client, merchant_a, owner_a):
    pay(merchant_a, "run1", 10_000, when=None)
    invoice = open_invoice(merchant_a, total=4321)
    Invoice.objects.filter(pk=invoice.pk).update(stripe_hosted_url="https://pay.example/x")
    client.force_login(owner_a)
    page = client.get(reverse("portal:billing", kwargs={"slug": merchant_a.slug}))
    assert page.status_code == 200
    assert "SP-2026-900001" in page.content.decode()
    assert "https://pay.example/x" in page.content.decode()
    kwargs = {"slug": merchant_a.slug, "invoice_id": invoice.pk}
    html = client.get(reverse("portal:billing_invoice", kwargs=kwargs)).content.decode()
    # A German business reads its amounts in de_DE.
    assert "43,21\xa0€" in html and "placeholder" not in html
    pdf = client.get(reverse("portal:billing_invoice_pdf", kwargs=kwargs))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    csv = client.get(reverse("portal:billing_invoice_csv", kwargs=kwargs))
    assert b"".join(csv.streaming_content).decode().splitlines()[0].startswith("occurred_at,kind")


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_roles_without_billing_get_403(client, merchant_a, role):
    client.force_login(member_of(merchant_a, role))
    assert (
        client.get(reverse("portal:billing", kwargs={"slug": merchant_a.slug})).status_code == 403
    )


def test_drafts_are_not_shown_to_merchants(client, merchant_a, owner_a):
    from datetime import date

    draft = Invoice.objects.create(
        merchant=merchant_a,
        currency="EUR",
        period_start=date(2025, 5, 1),
        period_end=date(2025, 6, 1),
    )
    client.force_login(owner_a)
    url = reverse(
        "portal:billing_invoice", kwargs={"slug": merchant_a.slug, "invoice_id": draft.pk}
    )
    assert client.get(url).status_code == 404


def _staff(*, finance: bool, mfa: bool):
    user = UserFactory(is_staff=True)
    if finance:
        user.groups.add(Group.objects.get_or_create(name="finance")[0])
    if mfa:
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


FINANCE_PAGES = ["finance_home", "finance_invoices", "finance_run", "finance_liability"]


@pytest.mark.parametrize("name", FINANCE_PAGES)
def test_finance_console_refuses_merchants_and_non_finance_staff(client, merchant_a, owner_a, name):
    url = reverse(name)
    client.force_login(owner_a)
    assert client.get(url).status_code == 404
    client.force_login(_staff(finance=False, mfa=True))
    assert client.get(url).status_code == 403
    client.force_login(_staff(finance=True, mfa=False))  # sent to set up two factors, and back
    assert client.get(url)["Location"].startswith("/accounts/2fa/totp/activate/?next=")
    client.logout()
    assert client.get(url).status_code == 302


def test_finance_staff_filter_export_drill_down_and_void(client, merchant_a, merchant_b):
    one = open_invoice(merchant_a, total=1000)
    open_invoice(merchant_b, number="SP-2026-900002", total=2500)
    user = _staff(finance=True, mfa=True)
    client.force_login(user)
    page = client.get(reverse("finance_invoices"), {"merchant": merchant_a.slug, "status": "open"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "SP-2026-900001" in body and "SP-2026-900002" not in body
    csv = client.get(reverse("finance_invoices"), {"format": "csv", "currency": "EUR"})
    rows = b"".join(csv.streaming_content).decode().splitlines()
    assert rows[0].startswith("number,merchant")
    assert {r.split(",")[0] for r in rows[1:]} >= {"SP-2026-900001", "SP-2026-900002"}
    assert client.get(reverse("finance_invoice", args=[one.pk])).status_code == 200
    assert client.get(reverse("finance_home")).status_code == 200
    # Void needs a reason.
    client.post(reverse("finance_invoice_action", args=[one.pk, "void"]), {"reason": ""})
    one.refresh_from_db()
    assert one.status == "open"
    client.post(reverse("finance_invoice_action", args=[one.pk, "void"]), {"reason": "duplicate"})
    one.refresh_from_db()
    assert (one.status, one.status_reason) == ("void", "duplicate")
    voided = AuditLog.objects.get(action="invoice.voided", target_id=str(one.pk))
    assert (voided.actor_id, voided.details["reason"]) == (user.pk, "duplicate")
    assert AuditLog.objects.filter(action="finance.viewed", actor=user).count() >= 4


def test_platform_admins_add_a_merchant_override_in_the_admin_console(client, merchant_a):
    import datetime

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.models import Group
    from django.urls import reverse
    from django.utils import timezone

    from billing.models import CommissionPlan
    from billing.plans import plan_in_force
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="platform admin"))
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    starts = timezone.now() - datetime.timedelta(minutes=1)
    response = client.post(
        reverse("admin:billing_commissionplan_add"),
        {
            "name": "Alpha launch deal",
            "merchant": merchant_a.pk,
            "currency": "EUR",
            "bps": 90,
            "fixed_fee": 10,
            "effective_from_0": starts.strftime("%Y-%m-%d"),
            "effective_from_1": starts.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = CommissionPlan.objects.get(name="Alpha launch deal")
    terms = plan_in_force(merchant=merchant_a, currency="EUR", at=timezone.now())
    assert (terms.bps, terms.fixed_fee) == (90, 10)
    assert (
        client.get(reverse("admin:billing_commissionplan_change", args=[plan.pk])).status_code
        == 200
    )


def test_finance_marks_a_bank_transfer_paid_and_collected_counts_it(client, merchant_a):
    from billing.selectors import revenue_by_month

    invoice = open_invoice(merchant_a, total=1000)
    user = _staff(finance=True, mfa=True)
    client.force_login(user)
    page = client.get(reverse("finance_invoice", args=[invoice.pk])).content.decode()
    assert "Mark paid (bank transfer)" in page
    url = reverse("finance_invoice_action", args=[invoice.pk, "paid"])
    client.post(url, {"reason": "  "})  # a reference is required
    invoice.refresh_from_db()
    assert invoice.status == "open"
    client.post(url, {"reason": "SEPA 2025-02-14 E2E-REF-1"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.status_reason) == (
        "paid",
        "Paid by bank transfer: SEPA 2025-02-14 E2E-REF-1",
    )
    assert invoice.paid_at is not None
    paid = AuditLog.objects.get(action="invoice.paid", target_id=str(invoice.pk))
    assert paid.actor_id == user.pk
    january = [row for row in revenue_by_month(currency="EUR") if row["period_start"].month == 1]
    assert january[0]["collected"] >= 1000
    # Paid is final for this action: a second one is refused, nothing changes.
    client.post(url, {"reason": "again"})
    invoice.refresh_from_db()
    assert invoice.status_reason == "Paid by bank transfer: SEPA 2025-02-14 E2E-REF-1"


def test_finance_revenue_chart_has_axes_tooltips_and_longer_ranges(client, merchant_a, monkeypatch):
    from billing import finance_views

    monkeypatch.setattr(finance_views, "_today", lambda: date(2026, 12, 4))
    invoice = open_invoice(merchant_a, total=12_000)  # January 2025, open: billed, not collected
    client.force_login(_staff(finance=True, mfa=True))
    page = client.get(reverse("finance_home"), {"months": "24"})
    html = page.content.decode()
    assert page.status_code == 200 and 'aria-current="true">24 months' in html
    assert 'aria-label="January 2025: Billed €120.00, Collected €0.00"' in html
    assert ">€150<" in html  # the y axis: round steps of €50 above the peak
    # Every month from December 2024 to November 2026, with or without invoices.
    assert html.count('<g class="point"') == 24
    assert 'aria-label="December 2024: Billed €0.00, Collected €0.00"' in html
    twelve = client.get(reverse("finance_home")).content.decode()  # Dec 2025 to Nov 2026
    assert twelve.count('<g class="point"') == 12 and "January 2025" not in twelve
    # Its number copies from the invoice page, and the invoice reads in the merchant's locale.
    detail = client.get(reverse("finance_invoice", args=[invoice.pk])).content.decode()
    assert 'data-copy-text="SP-2026-900001"' in detail and "120,00\xa0€" in detail


def test_the_finance_invoice_reads_its_plan_terms_and_vat_rate_in_the_merchants_locale(
    client, merchant_a, settings
):
    from billing.invoicing import invoice_run
    from tests.billing.support import MARCH, at

    settings.BILLING_COMPANY_COUNTRY = "DE"
    pay(merchant_a, "terms-p1", 10_000, when=at(2))  # the default plan: 1.5 % + €0.20
    invoice_run(period_start=MARCH)
    invoice = Invoice.objects.get(merchant=merchant_a, currency="EUR", period_start=MARCH)
    client.force_login(_staff(finance=True, mfa=True))

    page = client.get(reverse("finance_invoice", args=[invoice.pk])).content.decode()

    # merchant_a is a German business: "1,5 % + 0,20 €", not "1.5 % + €0.20" beside "1,70 €".
    assert "1,5 % + 0,20\xa0€" in page
    assert "1.5 %" not in page and "€0.20" not in page
    assert "VAT 19 %" in page
