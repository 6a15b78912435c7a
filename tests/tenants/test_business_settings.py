"""The Settings page: owners change the business's name, time zone and locale, each change in
the audit log; amounts in the portal read in the business's locale; the portal links the API
reference."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.urls import reverse

from tenants.models import AuditLog, Merchant
from tenants.regional import merchant_regional
from tests.billing.support import open_invoice
from tests.checkout.factories_payments import payment_make
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def settings_url(merchant) -> str:
    return reverse("portal:settings", kwargs={"slug": merchant.slug})


def test_a_settings_change_is_audited_with_before_and_after(client, merchant_a):
    owner = member_of(merchant_a, "owner")
    client.force_login(owner)
    saved = client.post(
        settings_url(merchant_a),
        {"name": "Alpha Renamed", "time_zone": "Asia/Tokyo", "locale": ""},
        HTTP_USER_AGENT="Settings browser",
    )
    assert saved.status_code == 302
    merchant_a.refresh_from_db()
    assert (merchant_a.name, merchant_a.time_zone) == ("Alpha Renamed", "Asia/Tokyo")
    entry = AuditLog.objects.get(action="merchant.settings_changed", merchant=merchant_a)
    assert (entry.merchant_id, entry.actor_id, entry.user_agent) == (
        merchant_a.pk,
        owner.pk,
        "Settings browser",
    )
    assert entry.details == {
        "changed": {
            "name": {"before": "Alpha Test Shop", "after": "Alpha Renamed"},
            "time_zone": {"before": "", "after": "Asia/Tokyo"},
        }
    }
    # The owner sees it in the portal's audit log.
    audit = client.get(reverse("portal:audit", kwargs={"slug": merchant_a.slug}))
    assert "merchant.settings_changed" in audit.content.decode()


def test_saving_unchanged_settings_writes_no_audit_row(client, merchant_a):
    client.force_login(member_of(merchant_a, "owner"))
    same = {"name": merchant_a.name, "time_zone": "", "locale": ""}
    assert client.post(settings_url(merchant_a), same).status_code == 302
    assert not AuditLog.objects.filter(
        action="merchant.settings_changed", merchant=merchant_a
    ).exists()


def test_a_refused_settings_change_changes_and_audits_nothing(client, merchant_a):
    client.force_login(member_of(merchant_a, "owner"))
    bad = client.post(settings_url(merchant_a), {"name": "x", "time_zone": "", "locale": ""})
    assert bad.status_code == 200 and "2 to 120 characters" in bad.content.decode()
    assert Merchant.objects.get(pk=merchant_a.pk).name == "Alpha Test Shop"
    assert not AuditLog.objects.filter(
        action="merchant.settings_changed", merchant=merchant_a
    ).exists()


def test_another_businesss_settings_answer_404(client, merchant_a, merchant_b):
    client.force_login(member_of(merchant_a, "owner"))
    page = client.post(settings_url(merchant_b), {"name": "Taken", "time_zone": "", "locale": ""})
    assert page.status_code == 404
    assert Merchant.objects.get(pk=merchant_b.pk).name != "Taken"


def test_money_reads_in_the_active_business_locale():
    template = Template('{{ 123456|money:"EUR" }}')
    assert template.render(Context()) == "€1,234.56"  # outside a portal: English
    german = Merchant(country="DE", locale="")
    with merchant_regional(german):
        assert template.render(Context()) == "1.234,56\xa0€"
    chosen = Merchant(country="DE", locale="en_GB")  # a chosen locale wins over the country's
    with merchant_regional(chosen):
        assert template.render(Context()) == "€1,234.56"


def test_portal_pages_show_amounts_in_the_business_locale(client, merchant_a, merchant_b):
    """Merchant A is German (de_DE), B French (fr_FR): the same €50.00 reads in each one's way."""
    for merchant, shown in ((merchant_a, "50,00\xa0€"), (merchant_b, "50,00\xa0€")):
        payment, _ = payment_make(merchant, vouchers=(5_000,))
        connection.set_schema_to_public()
        client.force_login(member_of(merchant, "owner"))
        kwargs = {"slug": merchant.slug, "payment_id": payment.public_id}
        html = client.get(reverse("portal:payment_detail", kwargs=kwargs)).content.decode()
        connection.set_schema_to_public()
        assert f'<dd id="amount">{shown}</dd>' in html


def test_invoice_dates_carry_time_and_zone(client, merchant_a, owner_a):
    invoice = open_invoice(merchant_a, total=1000)  # finalized 2025-02-01 01:00 UTC
    client.force_login(owner_a)
    kwargs = {"slug": merchant_a.slug, "invoice_id": invoice.pk}
    html = client.get(reverse("portal:billing_invoice", kwargs=kwargs)).content.decode()
    assert "Issued 1 Feb 2025, 02:00 CET" in html


def test_the_portal_links_the_api_reference(client, merchant_a):
    for role in ("owner", "viewer"):
        client.force_login(member_of(merchant_a, role))
        html = client.get(reverse("portal:overview", kwargs={"slug": merchant_a.slug}))
        connection.set_schema_to_public()
        assert f'href="{reverse("api-docs")}" id="nav-api-docs"' in html.content.decode()
    assert client.get(reverse("api-docs")).status_code == 200


def test_new_audit_actions_and_the_sessions_app_need_no_migration_of_ours():
    from io import StringIO

    from django.core.management import call_command

    call_command(
        "makemigrations", "tenants", "usersessions", "--check", "--dry-run", stdout=StringIO()
    )
