"""Refunds, and payments with their refunded amount, as the API and the webhooks show them."""

from __future__ import annotations

import datetime
from typing import Any

from checkout.models import Payment
from checkout.objects import payment_object
from checkout.refund_models import Refund
from checkout.refund_selectors import refund_status_of


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def refund_object(refund: Refund, *, payment_id: str | None = None) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "object": "refund",
        "livemode": refund.livemode,
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "payment": payment_id or refund.payment.public_id,
        "reason": refund.reason or None,
        "credits": refund.credits,
        "commission_reversed": refund.commission_reversed,
        "created_at": _iso(refund.created_at),
    }


def payment_with_refunds_object(payment: Payment, *, amount_refunded: int | None = None) -> dict:
    """The payment object plus `amount_refunded` and `refund_status` (none, partial, full).
    `amount_refunded` comes from the `payments_with_refunds` annotation unless given."""
    if amount_refunded is None:
        amount_refunded = payment.amount_refunded
    return payment_object(payment) | {
        "amount_refunded": amount_refunded,
        "refund_status": refund_status_of(amount=payment.amount, amount_refunded=amount_refunded),
    }
