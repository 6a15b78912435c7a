"""Amounts a person writes are parsed by each currency's exponent, never through a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpayment.money import MoneyError, amount_parse, currency_exponent

CURRENCIES = ["EUR", "USD", "JPY", "KWD", "BHD", "CLP", "GBP", "ISK", "TND"]


@given(minor=st.integers(min_value=0, max_value=10**14), currency=st.sampled_from(CURRENCIES))
def test_an_amount_written_with_its_currency_decimals_parses_to_its_minor_units(minor, currency):
    exponent = currency_exponent(currency)
    text = f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"
    assert amount_parse(text, currency) == minor


@given(
    whole=st.integers(min_value=0, max_value=10**9),
    digit=st.integers(min_value=1, max_value=9),
    currency=st.sampled_from(CURRENCIES),
)
def test_more_decimals_than_the_currency_has_are_refused(whole, digit, currency):
    exponent = currency_exponent(currency)
    text = f"{whole}." + "0" * exponent + str(digit)
    with pytest.raises(MoneyError):
        amount_parse(text, currency)


@given(
    whole=st.integers(min_value=0, max_value=10**9),
    currency=st.sampled_from(CURRENCIES),
)
def test_whole_amounts_scale_by_the_currency_exponent(whole, currency):
    exponent = currency_exponent(currency)
    assert amount_parse(f"{whole}", currency) == whole * 10**exponent


@pytest.mark.parametrize(("currency", "exponent"), [("JPY", 0), ("EUR", 2), ("KWD", 3)])
def test_exponents_follow_iso_4217(currency, exponent):
    assert currency_exponent(currency) == exponent
