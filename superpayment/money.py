"""Money is an integer count of minor units plus an ISO 4217 currency; never a float.

Decimals appear only at the edges: parsing what a person or a `data-amount` attribute wrote, and
formatting for display. Each currency's exponent decides both (JPY has none, KWD has three).
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import (
    format_currency,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    get_territory_currencies,
)

# ISO 4217 minor-unit exponents that differ from the usual 2.
ISO_4217_EXPONENT_EXCEPTIONS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
# ASCII digits only (`\d` would take Arabic-Indic or full-width digits), matched whole.
AMOUNT_PATTERN = re.compile(r"(?P<whole>[0-9]{1,15})(\.(?P<decimals>[0-9]{1,4}))?")


class MoneyError(ValueError):
    """An amount or currency that cannot be used; the message is fit to show a person."""


@functools.cache
def supported_currencies() -> frozenset[str]:
    """Currencies that are legal tender somewhere today (CLDR data shipped with Babel)."""
    today = datetime.date.today()
    codes: set[str] = set()
    for territory in Locale("en").territories:
        if len(territory) == 2 and territory.isalpha():
            codes.update(get_territory_currencies(territory, today, tender=True))
    return frozenset(codes)


def currency_validate(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in supported_currencies():
        raise MoneyError(f"{currency!r} is not a supported ISO 4217 currency code.")
    return code


def currency_exponent(currency: str) -> int:
    return ISO_4217_EXPONENT_EXCEPTIONS.get(currency_validate(currency), 2)


def amount_parse(text: str, currency: str) -> int:
    """'99.00' EUR -> 9900; '500' JPY -> 500. ASCII digits with an optional point and at most
    as many decimals as the currency has ('99.000' EUR and '500.0' JPY are refused)."""
    exponent = currency_exponent(currency)
    cleaned = (text or "").strip()
    written = AMOUNT_PATTERN.fullmatch(cleaned)
    if written is None:
        raise MoneyError(f"{text!r} is not an amount: write digits with an optional decimal point.")
    if len(written["decimals"] or "") > exponent:
        raise MoneyError(f"{currency} amounts have at most {exponent} decimal places.")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules this out
        raise MoneyError(f"{text!r} is not an amount.") from exc
    return int(value.scaleb(exponent))


def amount_parse_localized(text: str, currency: str, locale: str) -> int:
    """What a person typed in a portal form: the plain form first ('12.50', as the widget and
    the prefilled fields write it), else with the business's decimal sign through Babel ('12,50'
    for de_DE). Grouping signs are refused, so '1.234' is never read as a thousand in one locale
    and as 1.234 in another. Decimal throughout, never a float."""
    try:
        return amount_parse(text, currency)
    except MoneyError as plain_error:
        refused = plain_error
    cleaned = (text or "").strip()
    decimal_sign = get_decimal_symbol(locale)
    if decimal_sign == "." or decimal_sign not in cleaned or get_group_symbol(locale) in cleaned:
        raise refused
    # Only the decimal sign differs: the plain rules (ASCII digits, their count, the
    # currency's decimals) then apply unchanged.
    return amount_parse(cleaned.replace(decimal_sign, ".", 1), currency)


def amount_format(minor: int, currency: str, locale: str = "en") -> str:
    exponent = currency_exponent(currency)
    return format_currency(Decimal(minor).scaleb(-exponent), currency, locale=locale)


def amount_format_iso(minor: int, currency: str, locale: str = "en") -> str:
    """With the ISO code instead of the symbol ("INR 1,234.50"), for media without the symbol."""
    exponent = currency_exponent(currency)
    value = Decimal(minor).scaleb(-exponent)
    return format_currency(value, currency, "¤¤\u00a0#,##0.00", locale=locale, currency_digits=True)


def bps_display(bps: int, locale: str = "en") -> str:
    """Basis points as a percentage people read: 150 → "1.5 %" ("1,5 %" for de_DE), 1900 →
    "19 %". Exact: basis points are hundredths of a percent, so two decimals at most."""
    return f"{format_decimal(Decimal(bps).scaleb(-2), format='#,##0.##', locale=locale)} %"


@dataclass(frozen=True, slots=True)
class Money:
    """A value type for arithmetic that refuses to mix currencies."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount is an int count of minor units")
        object.__setattr__(self, "currency", currency_validate(self.currency))

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __str__(self) -> str:
        return amount_format(self.amount, self.currency)
