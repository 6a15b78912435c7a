"""Refunding payments: full or partial, several partials up to the amount paid.

`payment_refund` does it all in one transaction under the payment's row lock:

1. checks the amount against what is left to refund (the sum of earlier refunds);
2. credits the vouchers back through the vouchers services (`voucher_credit`, reference = the
   payment id), the last voucher debited first, each never more than its debit minus what
   earlier refunds gave it back; a voucher that is now expired or disabled is passed over for
   the payment's other vouchers;
3. writes the commission reversal in the public commission ledger (billing), in proportion;
4. stores the Refund, raises the payment's version, writes the `payment.refunded` event and an
   audit-log row (who refunded: the portal user, or the API key).

Any refusal rolls all of it back. A retried API request with the same Idempotency-Key refunds once
(the API view's `idempotent` decorator).
"""

from __future__ import annotations

import datetime
from typing import Any

import structlog
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from billing.services import commission_record_refund
from checkout.errors import CheckoutError, CheckoutErrorCode
from checkout.models import Payment
from checkout.refund_errors import RefundError, RefundErrorCode
from checkout.refund_models import Refund, refund_public_id_new
from checkout.refund_objects import payment_with_refunds_object, refund_object
from checkout.refund_selectors import payment_amount_refunded
from superpayment import metrics
from superpayment.money import amount_format
from tenants.audit import ActorType, AuditAction, audit_record
from tenants.models import ApiKey, Merchant
from tenants.selectors import merchant_active
from vouchers.models import Voucher
from vouchers.services import CLOSED_STATUSES, REASON_MAX_LENGTH, voucher_credit
from webhooks.services import event_record

log = structlog.get_logger(__name__)

REFUND_REASON_MAX_LENGTH = 500


def _payment_locked(payment: Payment) -> Payment:
    locked = (
        Payment.objects.select_for_update()
        .select_related("session")
        .filter(pk=payment.pk, livemode=payment.livemode)
        .first()
    )
    if locked is None:
        raise CheckoutError(
            CheckoutErrorCode.PAYMENT_NOT_FOUND, "No such payment.", param="payment_id"
        )
    return locked


def _amount_check(amount: Any, *, remaining: int, payment: Payment) -> int:
    if remaining <= 0:
        raise RefundError(
            RefundErrorCode.PAYMENT_ALREADY_REFUNDED,
            f"Payment {payment.public_id} is already refunded in full.",
            param="amount",
        )
    if amount is None:
        return remaining
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RefundError(
            RefundErrorCode.REFUND_AMOUNT_INVALID,
            "A refund amount is a whole number of minor units greater than 0.",
            param="amount",
        )
    if amount > remaining:
        left = amount_format(remaining, payment.currency)
        raise RefundError(
            RefundErrorCode.REFUND_EXCEEDS_REMAINING,
            f"Only {left} of this payment can still be refunded "
            f"({amount_format(payment.amount - remaining, payment.currency)} already was).",
            param="amount",
        )
    return amount


def _reason_check(reason: Any) -> str:
    clean = (reason or "").strip() if isinstance(reason, str | None) else None
    if clean is None or len(clean) > REFUND_REASON_MAX_LENGTH:
        raise RefundError(
            RefundErrorCode.REFUND_REASON_INVALID,
            f"The reason is text of at most {REFUND_REASON_MAX_LENGTH} characters.",
            param="reason",
        )
    return clean


def refund_allocate(
    *, tenders: list[dict], credited: dict[str, int], closed: set[str], amount: int
) -> list[dict]:
    """Which voucher gets how much of `amount` back: the last voucher debited first, each at most
    its debit minus what earlier refunds credited it; closed vouchers are passed over. Returns
    [{"voucher", "code_last4", "amount"}]; their amounts add up to `amount`, or it raises."""
    left = amount
    allocation = []
    for tender in reversed(tenders):
        voucher_id = tender["voucher"]
        if left == 0:
            break
        if voucher_id in closed:
            continue
        room = tender["amount"] - credited.get(voucher_id, 0)
        share = min(room, left)
        if share > 0:
            allocation.append(
                {"voucher": voucher_id, "code_last4": tender["code_last4"], "amount": share}
            )
            left -= share
    if left:
        raise RefundError(
            RefundErrorCode.REFUND_VOUCHERS_CLOSED,
            "This amount cannot go back to the payment's vouchers: some of them are expired or "
            f"disabled. At most {amount - left} minor units can be refunded now.",
            param="amount",
        )
    return allocation


def _credited_so_far(payment: Payment) -> dict[str, int]:
    credited: dict[str, int] = {}
    for credits in Refund.objects.filter(payment=payment).values_list("credits", flat=True):
        for credit in credits:
            credited[credit["voucher"]] = credited.get(credit["voucher"], 0) + credit["amount"]
    return credited


def _closed_vouchers(payment: Payment, now: datetime.datetime) -> set[str]:
    voucher_ids = [tender["voucher"] for tender in payment.tenders]
    closed = set()
    for voucher in Voucher.objects.filter(public_id__in=voucher_ids, livemode=payment.livemode):
        expired = voucher.expires_at is not None and voucher.expires_at <= now
        if voucher.status in CLOSED_STATUSES or expired:
            closed.add(voucher.public_id)
    return closed


@metrics.count_outcome(metrics.REFUNDS)  # outside the transaction: counted once it ends
@transaction.atomic
def payment_refund(
    *,
    payment: Payment,
    amount: int | None,
    reason: str = "",
    actor: Any = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
    merchant: Merchant | None = None,
    now: datetime.datetime | None = None,
) -> Refund:
    """Refund `amount` minor units of `payment` (None: all that is left), in the active
    merchant's schema. `actor` is the portal user who refunds, or None for the API (then
    `api_key` is the key the request used). Raises RefundError (amount invalid or too large,
    already refunded, vouchers closed)."""
    now = now or timezone.now()
    reason = _reason_check(reason)
    payment = _payment_locked(payment)
    remaining = payment.amount - payment_amount_refunded(payment=payment)
    amount = _amount_check(amount, remaining=remaining, payment=payment)
    allocation = refund_allocate(
        tenders=payment.tenders,
        credited=_credited_so_far(payment),
        closed=_closed_vouchers(payment, now),
        amount=amount,
    )
    refund_id = refund_public_id_new()
    ledger_reason = f"Refund {refund_id}" + (f": {reason}" if reason else "")
    actor_id = getattr(actor, "pk", None)
    for credit in allocation:
        voucher_credit(
            voucher_id=credit["voucher"],
            amount=credit["amount"],
            reference=payment.public_id,
            livemode=payment.livemode,
            reason=ledger_reason[:REASON_MAX_LENGTH],
            actor=actor_id,
        )
    merchant = merchant or merchant_active()
    commission = commission_record_refund(
        merchant=merchant,
        payment_id=payment.public_id,
        refund_id=refund_id,
        refunded_amount=amount,
        currency=payment.currency,
        livemode=payment.livemode,
        occurred_at=now,
    )
    refund = Refund.objects.create(
        public_id=refund_id,
        payment=payment,
        livemode=payment.livemode,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        credits=allocation,
        commission_reversed=-commission.amount,
        source=Refund.Source.PORTAL if actor is not None else Refund.Source.API,
        actor_id=actor_id,
        actor_email=getattr(actor, "email", "") or "",
    )
    refunded_total = payment.amount - remaining + amount
    payment.version += 1
    # Refunded in full: the order id is free for a new payment (payment_order_once).
    payment.fully_refunded = refunded_total == payment.amount
    payment.save(update_fields=["version", "fully_refunded", "updated_at"])
    audit_record(
        action=AuditAction.PAYMENT_REFUNDED,
        actor=actor if actor is not None else ActorType.SYSTEM,
        merchant=merchant,
        request=request,
        target=("checkout.payment", payment.public_id),
        details={
            "refund": refund_id,
            "amount": amount_format(amount, payment.currency),
            "source": refund.source,
            **({"api_key": api_key.masked} if api_key is not None else {}),
        },
    )
    event_record(
        event_type="payment.refunded",
        data_object=payment_with_refunds_object(payment, amount_refunded=refunded_total)
        | {"refund": refund_object(refund, payment_id=payment.public_id)},
        livemode=payment.livemode,
    )
    log.info(
        "payment_refunded",
        payment=payment.public_id,
        refund=refund_id,
        amount=amount,
        currency=payment.currency,
        refunded_total=refunded_total,
        vouchers=len(allocation),
        request_id=getattr(request, "request_id", None),
    )
    return refund
