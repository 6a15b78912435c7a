from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpayment.money import Money, MoneyError, amount_format, amount_parse, currency_exponent


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("99.00", "EUR", 9900),
        ("99", "EUR", 9900),
        ("0.5", "USD", 50),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        ("12.3", "BHD", 12300),
    ],
)
def test_amounts_parse_by_the_currency_exponent(text, currency, minor):
    assert amount_parse(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.5", "JPY"),
        ("9.999", "EUR"),
        ("-1", "EUR"),
        ("1e3", "EUR"),
        ("1,00", "EUR"),
        ("", "EUR"),
        ("NaN", "EUR"),
        ("1.00", "EURO"),
        ("\u0661\u0660\u0660", "EUR"),  # Arabic-Indic digits
        ("\uff11\uff10\uff10", "EUR"),  # full-width digits
        ("1\u0660.00", "EUR"),
        ("99.000", "EUR"),  # more decimals than EUR has, even zeros
        ("500.0", "JPY"),
        ("1.2345", "KWD"),
    ],
)
def test_unusable_amounts_are_refused(text, currency):
    with pytest.raises(MoneyError):
        amount_parse(text, currency)


@given(
    minor=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["EUR", "USD", "JPY", "KWD", "GBP", "CLP", "BHD"]),
)
def test_parse_inverts_plain_formatting(minor, currency):
    exponent = currency_exponent(currency)
    text = f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"
    assert amount_parse(text, currency) == minor


def test_money_refuses_to_mix_currencies_and_floats():
    assert Money(150, "EUR") + Money(50, "EUR") == Money(200, "EUR")
    with pytest.raises(MoneyError):
        Money(150, "EUR") + Money(50, "USD")
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    assert amount_format(9900, "EUR") == "€99.00"
    assert amount_format(500, "JPY") == "¥500"
