"""A business's time zone and locale: the country's by default, owners change them; portal times
carry their zone, and amounts typed in the portal are read in the business's locale."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from checkout.refund_models import Refund
from superpayment.money import MoneyError, amount_parse_localized
from tenants.models import Merchant
from tenants.regional import country_locale, country_time_zone
from tests.checkout.factories_payments import payment_make
from tests.conftest import member_of
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def url(name: str, merchant, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"slug": merchant.slug, **kwargs})


def test_the_country_gives_the_default_zone_and_locale():
    assert (country_time_zone("DE"), country_locale("DE")) == ("Europe/Berlin", "de_DE")
    assert (country_time_zone("CH"), country_locale("CH")) == ("Europe/Zurich", "de_CH")
    assert (country_time_zone(""), country_locale("")) == ("UTC", "en")


def test_when_prints_date_time_and_the_zone_abbreviation():
    at = datetime.datetime(2026, 12, 3, 13, 5, tzinfo=datetime.UTC)
    template = Template("{{ at|when }}|{{ nothing|when|default:'never' }}")
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert template.render(Context({"at": at})) == "3 Dec 2026, 14:05 CET|never"
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert template.render(Context({"at": at})) == "3 Dec 2026, 08:05 EST|never"


@pytest.mark.parametrize(
    ("text", "locale", "minor"),
    [
        ("12,50", "de_DE", 1250),
        ("12.50", "de_DE", 1250),
        ("12,5", "fr_FR", 1250),
        ("7", "de_DE", 700),
    ],
)
def test_portal_amounts_are_read_in_the_business_locale(text, locale, minor):
    assert amount_parse_localized(text, "EUR", locale) == minor


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("12,50", "en"),
        ("1.234", "de_DE"),
        ("1.250,50", "de_DE"),
        ("12,505", "de_DE"),
        ("-1,5", "de_DE"),
        ("1,5e3", "de_DE"),
        ("NaN", "de_DE"),
        ("", "de_DE"),
        ("1234567890123456789012,5", "de_DE"),  # more whole digits than any amount has
        ("\u0661\u0662,\u0665\u0660", "de_DE"),  # Arabic-Indic digits
    ],
)
def test_ambiguous_or_malformed_amounts_are_refused(text, locale):
    with pytest.raises(MoneyError):
        amount_parse_localized(text, "EUR", locale)


def test_payment_page_shows_times_in_the_business_zone(client, merchant_a, owner_a):
    Merchant.objects.filter(pk=merchant_a.pk).update(time_zone="America/New_York")
    payment, _ = payment_make(merchant_a, vouchers=(1_000,))
    client.force_login(owner_a)
    html = client.get(url("payment_detail", merchant_a, payment_id=payment.public_id))
    connection.set_schema_to_public()
    local = timezone.localtime(payment.created_at, zoneinfo.ZoneInfo("America/New_York"))
    assert local.strftime("%H:%M %Z") in html.content.decode()
    assert local.strftime("%Z") in ("EST", "EDT")


def test_a_german_merchant_types_12_comma_50_for_a_voucher_and_a_refund(client, merchant_a):
    assert merchant_a.country == "DE" and merchant_a.locale == ""
    client.force_login(member_of(merchant_a, "owner"))
    created = client.post(
        url("voucher_create", merchant_a), {"mode": "test", "currency": "EUR", "amount": "12,50"}
    )
    connection.set_schema_to_public()
    assert created.status_code == 302
    with schema_context(merchant_a.schema_name):
        assert Voucher.objects.get().initial_amount == 1250

    payment, _ = payment_make(merchant_a, vouchers=(5_000,))
    refund_url = url("payment_refund", merchant_a, payment_id=payment.public_id)
    done = client.post(refund_url, {"amount": "12,50", "confirm": "yes"})
    connection.set_schema_to_public()
    assert done.status_code == 302
    with schema_context(merchant_a.schema_name):
        assert list(Refund.objects.values_list("amount", flat=True)) == [1250]


def test_an_english_locale_refuses_the_comma(client, merchant_a):
    Merchant.objects.filter(pk=merchant_a.pk).update(locale="en_GB")
    client.force_login(member_of(merchant_a, "owner"))
    page = client.post(
        url("voucher_create", merchant_a), {"mode": "test", "currency": "EUR", "amount": "12,50"}
    )
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert "is not an amount" in page.content.decode()


def test_owners_set_zone_and_locale_others_only_read_them(client, merchant_a):
    client.force_login(member_of(merchant_a, "admin"))
    assert client.get(url("settings", merchant_a)).status_code == 200
    refused = client.post(
        url("settings", merchant_a), {"name": "Alpha", "time_zone": "Asia/Tokyo", "locale": ""}
    )
    assert refused.status_code == 403

    client.force_login(member_of(merchant_a, "owner"))
    page = client.get(url("settings", merchant_a)).content.decode()
    assert "The country&#x27;s (Europe/Berlin)" in page
    bad = client.post(
        url("settings", merchant_a), {"name": "Alpha", "time_zone": "Mars/Olympus", "locale": ""}
    )
    assert bad.status_code == 200
    saved = client.post(
        url("settings", merchant_a),
        {"name": merchant_a.name, "time_zone": "Asia/Tokyo", "locale": "de_AT"},
    )
    assert saved.status_code == 302
    merchant_a.refresh_from_db()
    assert (merchant_a.time_zone, merchant_a.locale) == ("Asia/Tokyo", "de_AT")


def test_the_admin_console_shows_times_in_the_same_format_with_the_zone(client, merchant_a):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    html = client.get(reverse("admin:tenants_merchant_changelist")).content.decode()
    created = timezone.localtime(merchant_a.created_at, datetime.UTC)
    assert f"{created.day} {created:%b %Y, %H:%M} UTC" in html
