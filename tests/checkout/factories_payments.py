"""Payments made through the real checkout services: vouchers issued, a server-created session,
each voucher held, the session confirmed (debits, commission entry, payment, event)."""

from __future__ import annotations

import itertools

from django_tenants.utils import schema_context

from checkout.models import CheckoutSession, Payment
from checkout.payments import checkout_session_confirm, checkout_voucher_add
from checkout.sessions import checkout_session_create
from vouchers.models import Voucher
from vouchers.services import voucher_issue

_orders = itertools.count(1)


def payment_make(
    merchant,
    *,
    vouchers: tuple[int, ...] = (10_000,),
    amount: int | None = None,
    livemode: bool = False,
    currency: str = "EUR",
    order_id: str | None = None,
) -> tuple[Payment, list[Voucher]]:
    """Issue one voucher per amount in `vouchers` and pay `amount` (default: their sum) with
    them, in `merchant`'s schema. Returns the payment and the vouchers in the order issued."""
    with schema_context(merchant.schema_name):
        issued = [
            voucher_issue(currency=currency, amount=value, livemode=livemode) for value in vouchers
        ]
        session = checkout_session_create(
            livemode=livemode,
            amount=amount or sum(vouchers),
            currency=currency,
            order_id=order_id or f"ORD-{merchant.slug}-{next(_orders)}-{id(issued)}",
            source=CheckoutSession.Source.SERVER,
        )
        for voucher in issued:
            checkout_voucher_add(
                session_id=session.public_id, code=voucher.code, client_ip="127.0.0.1"
            )
        payment = checkout_session_confirm(
            merchant=merchant, session_id=session.public_id, confirm_token=session.confirm_token
        )
        return payment, issued
