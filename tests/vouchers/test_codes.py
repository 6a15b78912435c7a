"""Codes: random from an unambiguous alphabet, at least 60 bits, matched however they are typed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouchers.codes import (
    CODE_ALPHABET,
    DEFAULT_RANDOM_LENGTH,
    MIN_RANDOM_LENGTH,
    code_entropy_bits,
    code_format,
    code_generate,
    code_import_validate,
    code_normalise,
)
from vouchers.errors import VoucherError, VoucherErrorCode


def test_the_alphabet_has_no_ambiguous_symbols_and_31_of_them():
    assert set(CODE_ALPHABET).isdisjoint(set("0O1IL"))
    assert len(CODE_ALPHABET) == len(set(CODE_ALPHABET)) == 31


def test_a_default_code_reads_in_four_groups_of_four():
    code = code_generate()
    assert len(code) == DEFAULT_RANDOM_LENGTH == 16
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code_format(code))


def test_default_and_minimum_lengths_carry_at_least_60_bits():
    assert code_entropy_bits(DEFAULT_RANDOM_LENGTH) == pytest.approx(79.27, abs=0.01)
    assert MIN_RANDOM_LENGTH == 13
    assert code_entropy_bits(MIN_RANDOM_LENGTH) >= 60
    assert code_entropy_bits(MIN_RANDOM_LENGTH - 1) < 60


@given(
    length=st.integers(min_value=MIN_RANDOM_LENGTH, max_value=32),
    prefix=st.sampled_from(["", "GIFT", "X9"]),
)
def test_generated_codes_use_only_the_alphabet_after_the_prefix(length, prefix):
    code = code_generate(prefix=prefix, length=length)
    assert code.startswith(prefix)
    random_part = code[len(prefix) :]
    assert len(random_part) == length
    assert set(random_part) <= set(CODE_ALPHABET)
    assert code_entropy_bits(len(random_part)) >= 60


@given(
    code=st.text(alphabet=CODE_ALPHABET, min_size=12, max_size=32),
    data=st.data(),
)
def test_any_grouping_case_and_spacing_normalises_to_the_same_code(code, data):
    typed = []
    for symbol in code:
        typed.append(symbol.lower() if data.draw(st.booleans()) else symbol)
        typed.append(data.draw(st.sampled_from(["", "", "-", " ", "  ", "\t", " - ", "\u00a0"])))
    assert code_normalise("".join(typed)) == code
    assert code_normalise(code_format(code)) == code


@pytest.mark.parametrize("length", [0, 5, 12])
def test_a_random_part_under_60_bits_is_refused(length):
    with pytest.raises(VoucherError) as caught:
        code_generate(length=length)
    assert caught.value.code == VoucherErrorCode.CODE_TOO_WEAK
    assert caught.value.param == "length"


@pytest.mark.parametrize("prefix", ["TOO-LONG-PREFIX-X", "GIFT!", "ÄB"])
def test_a_bad_prefix_is_refused(prefix):
    with pytest.raises(VoucherError) as caught:
        code_generate(prefix=prefix)
    assert caught.value.code == VoucherErrorCode.CODE_INVALID
    assert caught.value.param == "prefix"


def test_codes_are_not_repeated_in_a_large_sample():
    codes = {code_generate() for _ in range(20_000)}
    assert len(codes) == 20_000


@pytest.mark.parametrize("code", ["SHORT", "ABCD-EFGH-JK", "ABCD_EFGH_JKMN", "x" * 65])
def test_imported_codes_must_be_12_to_64_letters_or_digits(code):
    with pytest.raises(VoucherError) as caught:
        code_import_validate(code)
    assert caught.value.code == VoucherErrorCode.CODE_INVALID


def test_imported_codes_are_normalised():
    assert code_import_validate(" old-card 0001-2345 ") == "OLDCARD00012345"
