"""Sessions and payments as the API, the webhooks and the widget show them."""

from __future__ import annotations

import datetime
from typing import Any

from checkout.models import CheckoutSession, Payment


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def session_object(session: CheckoutSession) -> dict[str, Any]:
    payment = Payment.objects.filter(session=session).values_list("public_id", flat=True).first()
    return {
        "id": session.public_id,
        "object": "checkout.session",
        "livemode": session.livemode,
        "status": session.status,
        "source": session.source,
        "amount": session.amount,
        "currency": session.currency,
        "order_id": session.order_id,
        "origin": session.origin or None,
        "success_url": session.success_url or None,
        "cancel_url": session.cancel_url or None,
        "payment": payment,
        "expires_at": _iso(session.expires_at),
        "completed_at": _iso(session.completed_at),
        "created_at": _iso(session.created_at),
        "version": session.version,
    }


def payment_object(payment: Payment, *, session_id: str | None = None) -> dict[str, Any]:
    return {
        "id": payment.public_id,
        "object": "payment",
        "livemode": payment.livemode,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "order_id": payment.order_id,
        "checkout_session": session_id or payment.session.public_id,
        "tenders": payment.tenders,
        "commission": {
            "amount": payment.commission_amount,
            "currency": payment.currency,
            "plan": payment.commission_plan,
        },
        "created_at": _iso(payment.created_at),
        "version": payment.version,
    }
