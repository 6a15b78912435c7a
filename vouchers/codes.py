"""Voucher codes: random from an unambiguous alphabet, shown grouped, matched normalised.

A code is what a shopper types, so it is a bearer secret: it comes from `secrets`, carries at
least 60 bits of randomness, and lists show only its last four characters.
"""

from __future__ import annotations

import math
import re
import secrets

from vouchers.errors import VoucherError, VoucherErrorCode

# No 0/O, 1/I/L: nothing a person can misread. 31 symbols, 4.95 bits each.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BITS_PER_SYMBOL = math.log2(len(CODE_ALPHABET))
MIN_RANDOM_BITS = 60
MIN_RANDOM_LENGTH = math.ceil(MIN_RANDOM_BITS / BITS_PER_SYMBOL)  # 13 symbols, 64.4 bits
DEFAULT_RANDOM_LENGTH = 16  # 79 bits, shown as XXXX-XXXX-XXXX-XXXX
MAX_RANDOM_LENGTH = 32
PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{1,12}$")
# Codes imported from another system: letters and digits, long enough not to be guessed easily.
CODE_PATTERN = re.compile(r"^[A-Z0-9]{12,64}$")
GROUP = 4


def code_normalise(text: str) -> str:
    """`abcd-efgh ijkl` -> `ABCDEFGHIJKL`: upper case, dashes and white space removed."""
    return "".join((text or "").split()).replace("-", "").upper()


def code_format(code: str) -> str:
    """`ABCDEFGHJKMN` -> `ABCD-EFGH-JKMN`, for reading aloud or printing."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def code_last4(code: str) -> str:
    return code[-4:]


def code_entropy_bits(random_length: int) -> float:
    return random_length * BITS_PER_SYMBOL


def code_prefix_validate(prefix: str) -> str:
    clean = code_normalise(prefix)
    if clean and not PREFIX_PATTERN.match(clean):
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            "A code prefix is 1 to 12 letters or digits.",
            param="prefix",
        )
    return clean


def code_length_validate(length: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int) or length > MAX_RANDOM_LENGTH:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            f"The random part of a code is at most {MAX_RANDOM_LENGTH} characters.",
            param="length",
        )
    if length < MIN_RANDOM_LENGTH:
        raise VoucherError(
            VoucherErrorCode.CODE_TOO_WEAK,
            f"The random part of a code needs at least {MIN_RANDOM_LENGTH} characters "
            f"({MIN_RANDOM_BITS} bits) so that codes cannot be guessed.",
            param="length",
        )
    return length


def code_import_validate(code: str) -> str:
    """A code chosen by the merchant (moved from another system), normalised."""
    clean = code_normalise(code)
    if not CODE_PATTERN.match(clean):
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            "A voucher code is 12 to 64 letters or digits (dashes and spaces are ignored).",
            param="code",
        )
    return clean


def _random_symbols(length: int) -> str:
    """Unbiased: each byte's low 5 bits are uniform over 32 values; the one value past the
    alphabet is dropped rather than folded back."""
    symbols: list[str] = []
    while len(symbols) < length:
        for byte in secrets.token_bytes(length + 4):
            index = byte & 0x1F
            if index < len(CODE_ALPHABET):
                symbols.append(CODE_ALPHABET[index])
    return "".join(symbols[:length])


def code_generate(*, prefix: str = "", length: int = DEFAULT_RANDOM_LENGTH) -> str:
    """A normalised code: the (validated) prefix, then `length` random symbols."""
    return code_prefix_validate(prefix) + _random_symbols(code_length_validate(length))
