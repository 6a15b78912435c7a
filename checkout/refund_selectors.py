"""Reads of payments with their refunds, always within one mode (a test key never sees live
payments). A payment's refunded amount is the sum of its refunds, annotated in the same query
as the payment, so a list costs the same number of queries whatever its length."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from checkout.errors import CheckoutError, CheckoutErrorCode
from checkout.models import Payment
from checkout.refund_errors import RefundError, RefundErrorCode
from checkout.refund_models import Refund
from vouchers.selectors import voucher_public_id_for_code


class RefundStatus:
    """A payment's refund state, derived from its refunds."""

    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"
    VALUES = (NONE, PARTIAL, FULL)
    LABELS = {NONE: "Not refunded", PARTIAL: "Partially refunded", FULL: "Refunded"}


def refund_status_of(*, amount: int, amount_refunded: int) -> str:
    if amount_refunded <= 0:
        return RefundStatus.NONE
    return RefundStatus.FULL if amount_refunded >= amount else RefundStatus.PARTIAL


def payments_with_refunds(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate `amount_refunded` (the sum of each payment's refunds, 0 without any)."""
    refunded = (
        Refund.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return payments.annotate(
        amount_refunded=Coalesce(Subquery(refunded, output_field=IntegerField()), Value(0))
    )


def _query_condition(query: str, *, livemode: bool) -> Q:
    if query.startswith("pay_"):
        return Q(public_id=query)
    voucher = voucher_public_id_for_code(code=query, livemode=livemode)
    if voucher is not None:
        return Q(tenders__contains=[{"voucher": voucher}])
    return Q(order_id__icontains=query)


def payment_list(
    *,
    livemode: bool,
    status: str | None = None,
    refund_status: str | None = None,
    order_id: str | None = None,
    query: str | None = None,
    currency: str | None = None,
    created_gte: datetime.datetime | None = None,
    created_lte: datetime.datetime | None = None,
) -> QuerySet[Payment]:
    """The active merchant's payments of one mode, newest first, each with `amount_refunded`.
    `query` is the portal's one search box: a payment id (`pay_…`), a whole voucher code (the
    payments it paid) or part of an order id."""
    payments = payments_with_refunds(
        Payment.objects.filter(livemode=livemode).select_related("session")
    )
    if status:
        payments = payments.filter(status=status)
    if order_id:
        payments = payments.filter(order_id=order_id)
    if query:
        payments = payments.filter(_query_condition(query, livemode=livemode))
    if currency:
        payments = payments.filter(currency=currency.upper())
    if created_gte:
        payments = payments.filter(created_at__gte=created_gte)
    if created_lte:
        payments = payments.filter(created_at__lte=created_lte)
    if refund_status == RefundStatus.NONE:
        payments = payments.filter(amount_refunded=0)
    elif refund_status == RefundStatus.PARTIAL:
        payments = payments.filter(amount_refunded__gt=0, amount_refunded__lt=F("amount"))
    elif refund_status == RefundStatus.FULL:
        payments = payments.filter(amount_refunded__gte=F("amount"))
    return payments.order_by("-created_at", "-id")


def payment_get(*, public_id: str, livemode: bool) -> Payment:
    """One payment of the active merchant and this mode, with `amount_refunded`; another
    merchant's or mode's id answers payment_not_found."""
    payment = payment_list(livemode=livemode).filter(public_id=public_id).first()
    if payment is None:
        raise CheckoutError(
            CheckoutErrorCode.PAYMENT_NOT_FOUND, "No such payment.", param="payment_id"
        )
    return payment


def payment_amount_refunded(*, payment: Payment) -> int:
    return Refund.objects.filter(payment=payment).aggregate(total=Sum("amount", default=0))["total"]


def refund_list(*, payment: Payment) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(payment=payment)
        .select_related("payment")
        .order_by("-created_at", "-id")
    )


def refund_get(*, public_id: str, livemode: bool) -> Refund:
    refund = (
        Refund.objects.select_related("payment")
        .filter(public_id=public_id, livemode=livemode)
        .first()
    )
    if refund is None:
        raise RefundError(RefundErrorCode.REFUND_NOT_FOUND, "No such refund.", param="refund_id")
    return refund


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    amount: int
    refunded: int

    @property
    def net(self) -> int:
        return self.amount - self.refunded


def payment_totals(*, payments: QuerySet[Payment]) -> list[CurrencyTotal]:
    """Count, paid and refunded amounts of a filtered set of payments, per currency, in one
    query."""
    rows = (
        payments.order_by()
        .values("currency")
        .annotate(
            n=Count("id"),
            paid=Sum("amount", default=0),
            refunded_sum=Sum("amount_refunded", default=0),
        )
        .order_by("currency")
    )
    return [
        CurrencyTotal(
            currency=row["currency"],
            count=row["n"],
            amount=row["paid"],
            refunded=row["refunded_sum"],
        )
        for row in rows
    ]
