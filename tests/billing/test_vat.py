"""VAT on commission invoices: the treatment per issuer and customer, the merchant's validated
VAT ID, the figures fixed at finalization, and the invoice as HTML and PDF."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.test import override_settings
from django.urls import reverse
from pypdf import PdfReader

from billing.errors import BillingError
from billing.invoicing import invoice_run
from billing.models import BillingProfile, Invoice
from billing.vat import (
    NO_VAT_ID_NOTE,
    OUTSIDE_COUNTRY_NOTE,
    OUTSIDE_EU_NOTE,
    REVERSE_CHARGE_NOTE,
    billing_settings_problems,
    vat_amount,
    vat_id_normalize,
    vat_terms,
)
from tenants.models import AuditLog
from tests.billing.support import MARCH, at, pay, refund

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("issuer", "country", "vat_id", "treatment", "rate", "note"),
    [
        ("DE", "DE", "", "domestic", 1900, ""),
        ("DE", "DE", "DE136695976", "domestic", 1900, ""),
        ("DE", "FR", "FR40303265045", "reverse_charge", 0, REVERSE_CHARGE_NOTE),
        ("DE", "FR", "", "standard", 1900, NO_VAT_ID_NOTE),
        ("DE", "US", "", "outside_scope", 0, OUTSIDE_EU_NOTE),
        ("FI", "FI", "", "domestic", 2550, ""),
        ("GB", "DE", "DE136695976", "outside_scope", 0, OUTSIDE_COUNTRY_NOTE),
        ("GB", "GB", "", "domestic", 2000, ""),
    ],
)
def test_treatment_follows_issuer_customer_and_vat_id(
    issuer, country, vat_id, treatment, rate, note
):
    terms = vat_terms(issuer_country=issuer, customer_country=country, customer_vat_id=vat_id)
    assert (terms.treatment, terms.rate_bps, terms.note) == (treatment, rate, note)


def test_vat_rounds_half_up_on_the_magnitude():
    assert vat_amount(net=330, rate_bps=1900) == 63  # 62.7
    assert vat_amount(net=50, rate_bps=1900) == 10  # 9.5 → 10
    assert vat_amount(net=-50, rate_bps=1900) == -10
    assert vat_amount(net=1234, rate_bps=0) == 0


def test_vat_ids_are_checked_for_the_merchants_country():
    assert vat_id_normalize(value="de 136.695.976", country="DE") == "DE136695976"
    assert vat_id_normalize(value="136695976", country="DE") == "DE136695976"
    assert vat_id_normalize(value="", country="DE") == ""
    assert vat_id_normalize(value="094259216", country="GR") == "EL094259216"
    with pytest.raises(ValidationError, match="not a valid DE VAT number"):
        vat_id_normalize(value="DE136695977", country="DE")  # check digit
    with pytest.raises(ValidationError, match="not a valid FR VAT number"):
        vat_id_normalize(value="DE136695976", country="FR")  # another country's number
    assert vat_id_normalize(value="GB 980 7806 84", country="GB") == "GB980780684"


def test_issuer_settings_are_checked_at_start():
    assert billing_settings_problems(country="DE", vat_id="", iban="", bic="") == []
    assert "no VAT rate" in billing_settings_problems(country="XX", vat_id="", iban="", bic="")[0]
    assert billing_settings_problems(country="DE", vat_id="DE1", iban="", bic="")[0].startswith(
        "BILLING_COMPANY_VAT_ID: This is not a valid DE VAT number"
    )
    bad_iban = {"iban": "DE89370400440532013001", "bic": "COBADEFFXXX"}
    assert billing_settings_problems(country="DE", vat_id="", **bad_iban) == [
        "BILLING_BANK_IBAN is not a valid IBAN"
    ]


@override_settings(PRODUCTION=True, BILLING_COMPANY_VAT_ID="", STRIPE_API_KEY="")
def test_production_issues_no_invoice_without_the_issuers_details(merchant_a):
    pay(merchant_a, "iss1", 10_000, when=at(2))
    with pytest.raises(BillingError) as refused:
        invoice_run(period_start=MARCH)
    assert refused.value.code == "billing_issuer_incomplete"
    assert "BILLING_COMPANY_VAT_ID" in refused.value.message
    assert not Invoice.objects.filter(merchant=merchant_a).exists()  # nothing half-written


def _march_invoice(merchant) -> Invoice:
    pay(merchant, f"{merchant.slug}-p1", 10_000, when=at(2))  # 150 + 20 = 170
    pay(merchant, f"{merchant.slug}-p2", 20_000, when=at(2))  # 300 + 20 = 320
    refund(merchant, f"{merchant.slug}-p2", f"{merchant.slug}-r1", 10_000, when=at(5))  # -160
    invoice_run(period_start=MARCH)
    return Invoice.objects.get(merchant=merchant, currency="EUR", period_start=MARCH)


@override_settings(BILLING_COMPANY_COUNTRY="DE", BILLING_COMPANY_VAT_ID="DE136695976")
def test_domestic_invoice_carries_vat_and_the_customers_details(merchant_a):
    BillingProfile.objects.create(
        merchant=merchant_a, legal_name="Shop A GmbH", address="Hauptstr. 1\n10115 Berlin"
    )
    invoice = _march_invoice(merchant_a)  # merchant_a is in DE, like the issuer
    assert (invoice.total, invoice.tax_treatment, invoice.tax_rate_bps) == (330, "domestic", 1900)
    assert (invoice.tax_amount, invoice.amount_due) == (63, 393)
    assert (invoice.billed_name, invoice.billed_address) == (
        "Shop A GmbH",
        "Hauptstr. 1\n10115 Berlin",
    )
    finalized = AuditLog.objects.get(action="invoice.finalized", target_id=str(invoice.pk))
    assert (finalized.details["tax"], finalized.details["amount_due"]) == (63, 393)
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(tax_amount=0, amount_due=330)


@override_settings(BILLING_COMPANY_COUNTRY="DE")
def test_eu_merchant_with_vat_id_is_reverse_charged_and_without_pays_vat(merchant_b):
    BillingProfile.objects.create(merchant=merchant_b, vat_id="FR40303265045")
    invoice = _march_invoice(merchant_b)  # merchant_b is in FR
    assert (invoice.tax_treatment, invoice.tax_amount, invoice.amount_due) == (
        "reverse_charge",
        0,
        330,
    )
    assert (invoice.billed_vat_id, invoice.tax_note) == ("FR40303265045", REVERSE_CHARGE_NOTE)


@override_settings(BILLING_COMPANY_COUNTRY="DE")
def test_eu_merchant_without_vat_id_pays_the_issuers_rate(merchant_b):
    invoice = _march_invoice(merchant_b)
    assert (invoice.tax_treatment, invoice.tax_rate_bps, invoice.tax_amount) == (
        "standard",
        1900,
        63,
    )
    assert invoice.billed_name == merchant_b.name


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@override_settings(
    BILLING_COMPANY_NAME="SuperPayment GmbH",
    BILLING_COMPANY_ADDRESS="Platz 1, 10117 Berlin",
    BILLING_COMPANY_COUNTRY="DE",
    BILLING_COMPANY_VAT_ID="DE136695976",
    BILLING_BANK_IBAN="DE89370400440532013000",
    BILLING_BANK_BIC="COBADEFFXXX",
)
def test_invoice_html_and_pdf_show_symbols_vat_and_how_to_pay(client, merchant_b, owner_b):
    BillingProfile.objects.create(
        merchant=merchant_b, legal_name="Boutique B SAS", vat_id="FR40303265045"
    )
    invoice = _march_invoice(merchant_b)
    client.force_login(owner_b)
    kwargs = {"slug": merchant_b.slug, "invoice_id": invoice.pk}
    html = client.get(reverse("portal:billing_invoice", kwargs=kwargs)).content.decode()
    pdf = _pdf_text(client.get(reverse("portal:billing_invoice_pdf", kwargs=kwargs)).content)
    for text in (html.replace("\xa0", " "), pdf):
        assert "placeholder" not in text.lower()
        # The net total with the symbol, in the French merchant's locale, as in the HTML.
        assert "3,30 €" in text
        assert "DE136695976" in text and "FR40303265045" in text
        assert "Reverse charge" in text and "Article 196" in text
        assert "DE89 3704 0044 0532 0130 00" in text and invoice.number in text
    assert "EUR 3.30" not in pdf
    assert "Boutique B SAS" in pdf and "Amount due" in pdf


@override_settings(BILLING_COMPANY_COUNTRY="DE")
def test_pdf_shows_the_vat_rate_and_amount_of_a_domestic_invoice(client, merchant_a, owner_a):
    invoice = _march_invoice(merchant_a)
    client.force_login(owner_a)
    kwargs = {"slug": merchant_a.slug, "invoice_id": invoice.pk}
    pdf = _pdf_text(client.get(reverse("portal:billing_invoice_pdf", kwargs=kwargs)).content)
    assert "VAT 19 %" in pdf and "0,63 €" in pdf and "3,93 €" in pdf  # a German merchant's


def test_billing_details_are_validated_saved_and_audited(client, merchant_b, owner_b):
    client.force_login(owner_b)
    url = reverse("portal:billing", kwargs={"slug": merchant_b.slug})
    page = client.post(url, {"legal_name": "Boutique B SAS", "address": "", "vat_id": "FR00000"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="field has-error"' in html and "not a valid FR VAT number" in html
    assert 'value="Boutique B SAS"' in html  # the input is kept
    assert not BillingProfile.objects.filter(merchant=merchant_b).exists()
    nul = client.post(url, {"legal_name": "Bad\x00name", "address": "", "vat_id": ""})
    assert (
        nul.status_code == 200 and not BillingProfile.objects.filter(merchant=merchant_b).exists()
    )
    saved = client.post(
        url, {"legal_name": "Boutique B SAS", "address": "1 rue X", "vat_id": "40 303 265 045"}
    )
    assert saved.status_code == 302
    profile = BillingProfile.objects.get(merchant=merchant_b)
    assert (profile.legal_name, profile.address, profile.vat_id) == (
        "Boutique B SAS",
        "1 rue X",
        "FR40303265045",
    )
    audit = AuditLog.objects.get(action="billing.details_changed", merchant=merchant_b)
    assert audit.actor == owner_b and audit.details["vat_id"] == "FR40303265045"


def test_billing_details_of_another_merchant_are_invisible(client, merchant_a, merchant_b, owner_a):
    client.force_login(owner_a)
    url = reverse("portal:billing", kwargs={"slug": merchant_b.slug})
    assert client.post(url, {"legal_name": "x", "address": "", "vat_id": ""}).status_code == 404
    assert not BillingProfile.objects.filter(merchant=merchant_b).exists()
