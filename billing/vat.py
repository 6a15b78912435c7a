"""VAT on commission invoices: which treatment applies, at what rate, with which wording.

Our commission is a business-to-business service. Place of supply is the customer's country
(Article 44, Council Directive 2006/112/EC), so:

- the merchant is in the issuer's country: the issuer's standard rate (`domestic`);
- the issuer is in the EU and the merchant in another EU member state with a VAT ID: no VAT,
  the merchant self-assesses it (`reverse_charge`, Article 196);
- the same without a VAT ID on file: the supply cannot be shown to be business-to-business, so
  the issuer's standard rate applies (`standard`) until the merchant adds its VAT ID;
- the merchant is outside the issuer's VAT area: no VAT (`outside_scope`).

Rates are basis points (1900 = 19 %), the standard rate of each country as in force on
2026-01-01; a country that changes its rate changes this table (and the next invoices only:
a finalized invoice keeps the rate it was issued with). VAT is rounded once per invoice, half
away from zero, on the invoice's net total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from stdnum import util as stdnum_util
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

from superpayment.money import bps_display

EU_STANDARD_RATES_BPS: dict[str, int] = {
    "AT": 2000, "BE": 2100, "BG": 2000, "CY": 1900, "CZ": 2100, "DE": 1900, "DK": 2500,
    "EE": 2400, "ES": 2100, "FI": 2550, "FR": 2000, "GR": 2400, "HR": 2500, "HU": 2700,
    "IE": 2300, "IT": 2200, "LT": 2100, "LU": 1700, "LV": 2100, "MT": 1800, "NL": 2100,
    "PL": 2300, "PT": 2300, "RO": 2100, "SE": 2500, "SI": 2200, "SK": 2300,
}  # fmt: skip
OTHER_STANDARD_RATES_BPS: dict[str, int] = {"CH": 810, "GB": 2000, "NO": 2500}
STANDARD_RATES_BPS = {**EU_STANDARD_RATES_BPS, **OTHER_STANDARD_RATES_BPS}

# VAT numbers carry the member state's prefix, which for Greece is EL, not its ISO code GR.
VAT_PREFIX = {"GR": "EL"}

REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)."
)
OUTSIDE_EU_NOTE = (
    "VAT not charged: service supplied to a business established outside the EU "
    "(Article 44, Council Directive 2006/112/EC)."
)
OUTSIDE_COUNTRY_NOTE = "VAT not charged: the customer is established abroad."
NO_VAT_ID_NOTE = (
    "VAT charged at the issuer's rate: no VAT ID of the customer is on file. Add your VAT ID "
    "under Billing for reverse charge on later invoices."
)


class TaxTreatment(models.TextChoices):
    DOMESTIC = "domestic", "Domestic VAT"
    STANDARD = "standard", "VAT (customer's VAT ID missing)"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge"
    OUTSIDE_SCOPE = "outside_scope", "Outside the scope of VAT"


@dataclass(frozen=True, slots=True)
class VatTerms:
    treatment: str
    rate_bps: int
    note: str


def vat_terms(*, issuer_country: str, customer_country: str, customer_vat_id: str) -> VatTerms:
    """The VAT an invoice from `issuer_country` to a business in `customer_country` carries."""
    issuer_rate = STANDARD_RATES_BPS[issuer_country]
    if customer_country == issuer_country:
        return VatTerms(TaxTreatment.DOMESTIC, issuer_rate, "")
    issuer_in_eu = issuer_country in EU_STANDARD_RATES_BPS
    if issuer_in_eu and customer_country in EU_STANDARD_RATES_BPS:
        if customer_vat_id:
            return VatTerms(TaxTreatment.REVERSE_CHARGE, 0, REVERSE_CHARGE_NOTE)
        return VatTerms(TaxTreatment.STANDARD, issuer_rate, NO_VAT_ID_NOTE)
    note = OUTSIDE_EU_NOTE if issuer_in_eu else OUTSIDE_COUNTRY_NOTE
    return VatTerms(TaxTreatment.OUTSIDE_SCOPE, 0, note)


def vat_terms_table(issuer_country: str) -> tuple[dict[str, list], VatTerms]:
    """Every (customer country, has VAT ID) → terms, as columns for SQL's unnest, and the terms
    for any other country: invoice runs apply `vat_terms` set-based, 10,000 invoices at once."""
    columns: dict[str, list] = {
        "country": [],
        "with_id": [],
        "treatment": [],
        "rate": [],
        "note": [],
    }
    for country in sorted(STANDARD_RATES_BPS):
        for with_id in (False, True):
            terms = vat_terms(
                issuer_country=issuer_country,
                customer_country=country,
                customer_vat_id="x" if with_id else "",
            )
            for name, value in zip(
                columns,
                (country, with_id, terms.treatment, terms.rate_bps, terms.note),
                strict=True,
            ):
                columns[name].append(value)
    elsewhere = vat_terms(issuer_country=issuer_country, customer_country="", customer_vat_id="")
    return columns, elsewhere


def vat_amount(*, net: int, rate_bps: int) -> int:
    """VAT on a net amount in minor units, rounded half away from zero (a credit's VAT is the
    exact negative of the same charge's)."""
    magnitude = (2 * abs(net) * rate_bps + 10_000) // 20_000  # half-up on the magnitude
    return -magnitude if net < 0 else magnitude


def vat_rate_display(rate_bps: int, locale: str = "en") -> str:
    """1900 → "19 %", 2550 → "25.5 %" ("25,5 %" for de_DE), 810 → "8.1 %"."""
    return bps_display(rate_bps, locale)


_VAT_ID_CHARS = re.compile(r"[A-Z0-9]{4,20}\Z")


def vat_id_normalize(*, value: str, country: str) -> str:
    """The merchant's VAT ID in its compact form, checked against its country's format and check
    digits (python-stdnum). Raises ValidationError with a message for the form field."""
    if not value.strip():
        return ""
    compact = re.sub(r"[\s.\-/]", "", value).upper()
    if country in EU_STANDARD_RATES_BPS:
        prefix = VAT_PREFIX.get(country, country)
        module, compact = eu_vat, compact if compact.startswith(prefix) else prefix + compact
    else:
        module = _country_vat_module(country)
    if module is None:
        if not _VAT_ID_CHARS.match(compact):
            raise ValidationError("Use 4 to 20 letters and digits.")
        return compact
    try:
        valid = module.validate(compact)
    except StdnumValidationError as exc:
        raise ValidationError(
            f"This is not a valid {country} VAT number ({exc.message.rstrip('.')})."
        ) from exc
    # UK numbers are quoted with their GB prefix, which python-stdnum strips.
    return f"GB{valid}" if country == "GB" and not valid.startswith("GB") else valid


def _country_vat_module(country: str):
    # None where python-stdnum knows no VAT number format for the country.
    return stdnum_util.get_cc_module(country.lower(), "vat")


def billing_settings_problems(*, country: str, vat_id: str, iban: str, bic: str) -> list[str]:
    """What is wrong with the issuer's billing settings (read at start-up, so a bad value stops
    the process instead of printing on invoices)."""
    from stdnum import bic as stdnum_bic
    from stdnum import iban as stdnum_iban

    problems = []
    if country not in STANDARD_RATES_BPS:
        known = ", ".join(sorted(STANDARD_RATES_BPS))
        problems.append(f"BILLING_COMPANY_COUNTRY {country!r} has no VAT rate (one of {known})")
    elif vat_id:
        try:
            vat_id_normalize(value=vat_id, country=country)
        except ValidationError as exc:
            problems.append(f"BILLING_COMPANY_VAT_ID: {exc.messages[0]}")
    if iban and not stdnum_iban.is_valid(iban):
        problems.append("BILLING_BANK_IBAN is not a valid IBAN")
    if bic and not stdnum_bic.is_valid(bic):
        problems.append("BILLING_BANK_BIC is not a valid BIC")
    if bool(iban) != bool(bic):
        problems.append("set both BILLING_BANK_IBAN and BILLING_BANK_BIC, or neither")
    return problems


def iban_format(iban: str) -> str:
    """An IBAN in groups of four, as printed on invoices."""
    from stdnum import iban as stdnum_iban

    return stdnum_iban.format(iban) if iban else ""


def issuer_missing(*, vat_id: str, address: str, iban: str, stripe: bool) -> list[str]:
    """What a lawful invoice still lacks from the issuer's settings; production refuses to
    issue invoices until it is set (development issues them, showing what is set)."""
    missing = []
    if not vat_id:
        missing.append("BILLING_COMPANY_VAT_ID")
    if not address:
        missing.append("BILLING_COMPANY_ADDRESS")
    if not (iban or stripe):
        missing.append("BILLING_BANK_IBAN/BILLING_BANK_BIC or STRIPE_API_KEY")
    return missing
