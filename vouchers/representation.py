"""A voucher as the API, its webhook events and its exports show it. The full code is never
part of it: the create answer adds it once (see vouchers.api)."""

from __future__ import annotations

import datetime
from typing import Any

from vouchers.codes import code_last4
from vouchers.models import Voucher


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def voucher_api_object(voucher: Voucher) -> dict[str, Any]:
    return {
        "id": voucher.public_id,
        "object": "voucher",
        "code_last4": code_last4(voucher.code),
        "currency": voucher.currency,
        "initial_amount": voucher.initial_amount,
        "balance": voucher.balance,
        "status": voucher.status,
        "livemode": voucher.livemode,
        "valid_from": timestamp(voucher.valid_from),
        "expires_at": timestamp(voucher.expires_at),
        "rules": voucher.rules or {},
        "metadata": voucher.metadata or {},
        "redemption_count": voucher.redemption_count,
        "version": voucher.version,
        "created": timestamp(voucher.created_at),
    }
