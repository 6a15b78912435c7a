"""Redemption rules and metadata: declared shapes, checked before anything is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from superpayment.text import has_control_characters
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.validation import MAX_AMOUNT

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500
METADATA_MAX_BYTES = 8 * 1024
# Redemptions allowed when no rule limits them (the column is a 32-bit integer).
UNLIMITED_REDEMPTIONS = 2**31 - 1


@dataclass(frozen=True)
class RuleSpec:
    kind: type
    description: str
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


RULES_SCHEMA: dict[str, RuleSpec] = {
    "min_order_amount": RuleSpec(
        int,
        f"an integer amount in minor units, 0 to {MAX_AMOUNT}",
        minimum=0,
        maximum=MAX_AMOUNT,
    ),
    "max_redemptions": RuleSpec(
        int, f"an integer, 1 to {UNLIMITED_REDEMPTIONS}", minimum=1, maximum=UNLIMITED_REDEMPTIONS
    ),
    "single_use": RuleSpec(bool, "true or false"),
    "order_id_prefix": RuleSpec(
        str, "text of 1 to 64 characters without control characters", max_length=64
    ),
}


def _rules_error(message: str, key: str | None = None) -> VoucherError:
    return VoucherError(
        VoucherErrorCode.RULES_INVALID, message, param=f"rules.{key}" if key else "rules"
    )


def voucher_rules_validate(rules: Any) -> dict[str, Any]:
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise _rules_error("Rules are an object of rule names and values.")
    unknown = sorted(set(rules) - set(RULES_SCHEMA))
    if unknown:
        raise _rules_error(
            f"Unknown rule {unknown[0]!r}; the rules are: {', '.join(RULES_SCHEMA)}.", unknown[0]
        )
    for key, value in rules.items():
        spec = RULES_SCHEMA[key]
        # bool is an int in Python: accept it only where a bool is declared.
        wrong_type = not isinstance(value, spec.kind) or (
            spec.kind is int and isinstance(value, bool)
        )
        too_small = not wrong_type and spec.minimum is not None and value < spec.minimum
        too_large = not wrong_type and spec.maximum is not None and value > spec.maximum
        bad_text = (
            not wrong_type
            and spec.max_length is not None
            and (not 1 <= len(value) <= spec.max_length or has_control_characters(value))
        )
        if wrong_type or too_small or too_large or bad_text:
            raise _rules_error(f"The rule {key!r} must be {spec.description}.", key)
    return dict(rules)


def voucher_redemption_limit(rules: dict[str, Any]) -> int:
    """How many redemptions the rules allow in all."""
    limit = rules.get("max_redemptions", UNLIMITED_REDEMPTIONS)
    return min(limit, 1) if rules.get("single_use") else limit


def voucher_metadata_validate(metadata: Any) -> dict[str, str]:
    def refuse(message: str, key: str | None = None) -> VoucherError:
        return VoucherError(
            VoucherErrorCode.METADATA_INVALID,
            message,
            param=f"metadata.{key}" if key else "metadata",
        )

    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise refuse("Metadata is an object of text keys and text values.")
    if len(metadata) > METADATA_MAX_KEYS:
        raise refuse(f"Metadata holds at most {METADATA_MAX_KEYS} keys.")
    for key, value in metadata.items():
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= METADATA_KEY_MAX_LENGTH
            or has_control_characters(key)
        ):
            raise refuse(
                f"Metadata keys are 1 to {METADATA_KEY_MAX_LENGTH} characters without control "
                "characters."
            )
        if (
            not isinstance(value, str)
            or len(value) > METADATA_VALUE_MAX_LENGTH
            or has_control_characters(value)
        ):
            raise refuse(
                f"Metadata values are text of at most {METADATA_VALUE_MAX_LENGTH} characters "
                "without control characters.",
                key,
            )
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        raise refuse(f"Metadata is at most {METADATA_MAX_BYTES // 1024} KB in all.")
    return dict(metadata)
