"""Paying a checkout session inside the payment frame.

The shopper lists vouchers (each one holds its share of the amount, soonest-expiring first) and
confirms. `checkout_session_confirm` then, in one transaction under the session's row lock:
debits every held voucher (vouchers.holds), writes the commission ledger entry (billing, public
schema), creates the Payment with its commission snapshot, completes the session and writes the
`payment.succeeded` event (webhooks outbox). All of it or none of it.

In three round trips (superpayment.pipeline): (1) the session locked, its holds, the commission
plans in force and the webhook endpoints; (2) the held vouchers locked (with the other holds'
sums when shares must be allocated again), after which every check has been made; (3) the
debits, the commission entry, the payment with its session completed, the holds dropped, the
events with their deliveries, and COMMIT. Each statement is written by the app that owns it
(vouchers, billing, webhooks, checkout); this module only decides when each is sent.

Holds are guarantees (vouchers.holds): a session whose holds cover its amount pays whatever other
sessions confirm meanwhile; paying an order releases the holds of its other sessions, in the same
transaction. Adding a voucher locks the session row, so concurrent adds respect the split-tender
limit (vouchers.services.MAX_TENDERS).

A confirm carries the session's confirm token; a second confirm of a completed session with the
same token (a double click, a retried request) returns the payment the first one made.
"""

from __future__ import annotations

import datetime
import hmac
from dataclasses import dataclass

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.plans import plan_terms_choose, plans_in_force_statement
from billing.services import commission_payment_statement
from checkout.errors import CheckoutError, CheckoutErrorCode
from checkout.models import CheckoutSession, Payment, RememberedVoucher, payment_public_id_new
from checkout.objects import payment_object
from checkout.sessions import order_assert_unpaid, session_assert_open
from superpayment import metrics
from superpayment.errors import violated_constraint
from superpayment.pipeline import Statement, statements_send
from superpayment.prepared import (
    model_columns,
    model_from_row,
    model_insert_clause,
    model_insert_values,
    model_inserted,
    prepared_fetch_one,
)
from tenants.models import Merchant
from vouchers.errors import VoucherError
from vouchers.events import VOUCHER_EXHAUSTED, voucher_event_statement
from vouchers.holds import (
    Held,
    HoldPlan,
    voucher_hold_add,
    voucher_hold_remove,
    voucher_holds_debit,
    voucher_holds_from_rows,
    voucher_holds_lock_statements,
    voucher_holds_plan,
    voucher_holds_release,
    voucher_holds_settle_statement,
    voucher_holds_statement,
)
from vouchers.throttle import code_attempt_failed, code_attempts_check
from webhooks.services import (
    Subscriptions,
    event_inserted,
    event_statement,
    subscriptions_from_rows,
    subscriptions_statement,
)

log = structlog.get_logger(__name__)

# Refusals that say "this code is wrong": they count against the guessing throttle.
WRONG_CODE_ERRORS = {"voucher_not_redeemable"}


# The confirm's first statement, so it runs prepared (superpayment.prepared).
_SESSION_LOCKED_SQL = f"""
SELECT {model_columns(CheckoutSession, "s")}
  FROM {CheckoutSession._meta.db_table} s
 WHERE s.public_id = %(public_id)s
   FOR UPDATE
"""  # noqa: S608 - table and column names from model meta; values are bound


def session_locked(*, public_id: str) -> CheckoutSession:
    row = prepared_fetch_one(_SESSION_LOCKED_SQL, {"public_id": public_id})
    if row is None:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
        )
    return model_from_row(CheckoutSession, row)


# The publishable key is public: its wrong codes raise the alarm but refuse no shopper.
ALERT_ONLY_SCOPES = frozenset({"key"})


def _throttle_scopes(session: CheckoutSession, client_ip: str) -> dict[str, str]:
    return {
        "session": session.public_id,
        "ip": client_ip or "unknown",
        "key": str(session.publishable_key_id or "none"),
    }


def checkout_voucher_add(
    *, session_id: str, code: str, client_ip: str, now: datetime.datetime | None = None
) -> HoldPlan:
    """The shopper typed a code: list it on the session (its share held). Wrong codes answer the
    uniform not-redeemable error and count against the guessing throttles. Under the session's
    row lock: concurrent adds to one session run one after the other, so each sees the vouchers
    the previous ones listed (the split-tender limit holds)."""
    now = now or timezone.now()
    session = CheckoutSession.objects.filter(public_id=session_id).first()
    if session is None:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
        )
    session_assert_open(session, now=now)
    scopes = _throttle_scopes(session, client_ip)
    code_attempts_check(scopes=scopes, alert_only=ALERT_ONLY_SCOPES)
    try:
        with transaction.atomic():
            session = session_locked(public_id=session_id)
            session_assert_open(session, now=now)
            order_assert_unpaid(livemode=session.livemode, order_id=session.order_id)
            return _session_hold_add(session, code=code, now=now)
    except Exception as exc:
        if str(getattr(exc, "code", "")) in WRONG_CODE_ERRORS:
            code_attempt_failed(scopes=scopes)
        raise


def checkout_voucher_remove(
    *, session_id: str, voucher_id: str, now: datetime.datetime | None = None
) -> HoldPlan:
    now = now or timezone.now()
    with transaction.atomic():
        session = session_locked(public_id=session_id)
        session_assert_open(session, now=now)
        return voucher_hold_remove(
            holder=session.public_id,
            voucher_id=voucher_id,
            amount=session.amount,
            hold_until=session.expires_at,
            now=now,
        )


def checkout_session_plan(*, session: CheckoutSession) -> HoldPlan:
    return voucher_holds_plan(holder=session.public_id, amount=session.amount)


def checkout_session_release(*, session_id: str) -> int:
    """The shopper closed the frame without paying: release the session's holds (the session
    stays open until it expires, so the shopper may come back). Under the session's row lock,
    so it never runs in the middle of the session's own confirm."""
    with transaction.atomic():
        session = session_locked(public_id=session_id)
        return voucher_holds_release(holders=[session.public_id])


def _commission_plan(entry) -> dict:
    return {
        "name": entry.plan_name,
        "bps": entry.bps,
        "fixed_fee": entry.fixed_fee,
        "plan_id": entry.plan_id,
    }


# The payment and its session completed, in one prepared statement.
_PAYMENT_RECORD_SQL = f"""
WITH completed AS (
    UPDATE {CheckoutSession._meta.db_table}
       SET status = %(session_status)s, completed_at = %(session_completed_at)s,
           version = %(session_version)s, updated_at = %(session_updated_at)s
     WHERE id = %(session)s
)
INSERT INTO {Payment._meta.db_table} {model_insert_clause(Payment)}
RETURNING id
"""  # noqa: S608 - table and column names from model meta; values are bound


def _payment_record_statement(payment: Payment, session: CheckoutSession) -> Statement:
    values = model_insert_values(payment)  # sets created_at and updated_at, as save() would
    session.updated_at = payment.updated_at
    return Statement(
        _PAYMENT_RECORD_SQL,
        values
        | {
            "session": session.pk,
            "session_status": session.status,
            "session_completed_at": session.completed_at,
            "session_version": session.version,
            "session_updated_at": session.updated_at,
        },
    )


@dataclass(frozen=True)
class _FirstReads:
    """The confirm's first round trip: the session locked, its holds, the commission plans in
    force and the webhook endpoints."""

    session: CheckoutSession
    holds: list[Held]
    plans: list[tuple]
    subscriptions: Subscriptions


def _first_reads(*, merchant: Merchant, session_id: str, now: datetime.datetime) -> _FirstReads:
    session_rows, hold_rows, plan_rows, endpoint_rows = statements_send(
        [
            Statement(_SESSION_LOCKED_SQL, {"public_id": session_id}),
            # After the lock: a statement of its own, so it sees the holds as the last change
            # under that lock left them.
            voucher_holds_statement(holder=session_id),
            plans_in_force_statement(merchant=merchant, at=now),
            subscriptions_statement(),
        ]
    )
    if not session_rows:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
        )
    return _FirstReads(
        session=model_from_row(CheckoutSession, session_rows[0]),
        holds=voucher_holds_from_rows(hold_rows),
        plans=plan_rows,
        subscriptions=subscriptions_from_rows(endpoint_rows),
    )


def _session_hold_add(session: CheckoutSession, *, code: str, now: datetime.datetime):
    """Hold the voucher `code` towards the session's amount, in its currency and mode, for its
    order, until the session expires."""
    return voucher_hold_add(
        holder=session.public_id,
        code=code,
        amount=session.amount,
        currency=session.currency,
        livemode=session.livemode,
        order_id=session.order_id,
        hold_until=session.expires_at,
        now=now,
    )


def _remembered_hold(
    *, session: CheckoutSession, remembered: RememberedVoucher, now: datetime.datetime
) -> list[Held]:
    """One click: the remembered voucher alone holds the amount; the session's holds after."""
    voucher_holds_release(holders=[session.public_id])
    _session_hold_add(session, code=remembered.voucher.code, now=now)
    remembered.last_used_at = now
    remembered.save(update_fields=["last_used_at"])
    (rows,) = statements_send([voucher_holds_statement(holder=session.public_id)])
    return voucher_holds_from_rows(rows)


def _confirm_locked(
    *,
    merchant: Merchant,
    reads: _FirstReads,
    remembered: RememberedVoucher | None,
    now: datetime.datetime,
) -> Payment:
    session = reads.session
    session_assert_open(session, now=now)
    if session.livemode and not merchant.live_activated:
        # Keys already refuse live mode before activation; this guards the payment itself.
        raise CheckoutError(
            CheckoutErrorCode.LIVE_MODE_NOT_ACTIVATED,
            "This shop cannot take live payments yet. No voucher was charged.",
        )
    holds = reads.holds
    if remembered is not None:
        holds = _remembered_hold(session=session, remembered=remembered, now=now)
    # Second round trip: the vouchers locked (with the other holds' sums if shares must be
    # allocated again). Every check is then made here, so the last round trip can commit.
    payment_id = payment_public_id_new()
    try:
        locked = statements_send(
            voucher_holds_lock_statements(
                holds=holds, holder=session.public_id, amount=session.amount, now=now
            )
        )
        paying = voucher_holds_debit(
            holds=holds,
            rows=locked,
            amount=session.amount,
            reference=payment_id,
            order_id=session.order_id,
            now=now,
        )
    except VoucherError:
        # Another session of this order was paid and released this one's holds: say so.
        order_assert_unpaid(livemode=session.livemode, order_id=session.order_id)
        raise
    exhausted = [
        voucher_event_statement(
            voucher=voucher, event_type=VOUCHER_EXHAUSTED, subscriptions=reads.subscriptions
        )
        for voucher in paying.exhausted
    ]
    entry, commission = commission_payment_statement(
        merchant=merchant,
        payment_id=payment_id,
        amount=session.amount,
        currency=session.currency,
        livemode=session.livemode,
        occurred_at=now,
        terms=plan_terms_choose(reads.plans, currency=session.currency),
    )
    payment = Payment(
        public_id=payment_id,
        session=session,
        livemode=session.livemode,
        amount=session.amount,
        currency=session.currency,
        order_id=session.order_id,
        tenders=[
            {"voucher": debit.voucher_id, "code_last4": debit.code_last4, "amount": debit.amount}
            for debit in paying.debits
        ],
        commission_amount=entry.amount,
        commission_plan=_commission_plan(entry),
    )
    session.status = CheckoutSession.Status.COMPLETED
    session.completed_at = now
    session.version += 1
    recorded = _payment_record_statement(payment, session)
    event, succeeded = event_statement(
        event_type="payment.succeeded",
        data_object=payment_object(payment, session_id=session.public_id),
        livemode=payment.livemode,
        subscriptions=reads.subscriptions,
    )
    # Third round trip, COMMIT included. The holds are dropped after the payment's insert: a
    # concurrent confirm of the same order waits on the order's unique index before either
    # touches the other's holds.
    rows = statements_send(
        [
            *paying.statements,
            *(statement for _event, statement in exhausted),
            commission,
            recorded,
            voucher_holds_settle_statement(
                holder=session.public_id,
                order_id=session.order_id,
                livemode=session.livemode,
                now=now,
            ),
            succeeded,
        ],
        commit=True,
    )
    model_inserted(payment, rows[-3][0][0])
    # What each voucher has left, known under its lock: the frame's receipt shows it without a
    # read of its own (not a field: a payment read back later does not carry it).
    payment.balances_after = {debit.voucher_id: debit.balance_after for debit in paying.debits}
    if rows[-4]:
        model_inserted(entry, rows[-4][0][0])
    event_inserted(event, rows[-1])
    return payment


def _holds_release_unpayable(session_id: str) -> None:
    """The session's order was paid by another session: whatever it still holds (holds taken
    while that payment committed) is released now rather than when the session expires."""
    with transaction.atomic():
        voucher_holds_release(holders=[session_id])


@metrics.count_outcome(metrics.PAYMENTS, latency=metrics.CONFIRM_SECONDS)
def checkout_session_confirm(
    *,
    merchant: Merchant,
    session_id: str,
    confirm_token: str,
    remembered: RememberedVoucher | None = None,
    now: datetime.datetime | None = None,
) -> Payment:
    """Pay the session with its held vouchers (or the remembered voucher): everything in one
    transaction. Idempotent per session: a repeated confirm returns the first payment.
    Runs in `merchant`'s schema (the caller activates it)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            reads = _first_reads(merchant=merchant, session_id=session_id, now=now)
            session = reads.session
            if not hmac.compare_digest(session.confirm_token, confirm_token or ""):
                raise CheckoutError(
                    CheckoutErrorCode.CONFIRM_TOKEN_INVALID,
                    "This payment page is out of date; reload it.",
                    param="confirm_token",
                )
            if session.status == CheckoutSession.Status.COMPLETED:
                return Payment.objects.get(session=session)
            payment = _confirm_locked(
                merchant=merchant, reads=reads, remembered=remembered, now=now
            )
    except IntegrityError as exc:
        # Two sessions of one order confirmed at once: the unique index let one through.
        if violated_constraint(exc) == "payment_order_once":
            _holds_release_unpayable(session_id)
            raise CheckoutError(
                CheckoutErrorCode.ORDER_ALREADY_PAID,
                "This order is already paid.",
                param="order_id",
            ) from exc
        raise
    except CheckoutError as exc:
        if exc.code == CheckoutErrorCode.ORDER_ALREADY_PAID:
            _holds_release_unpayable(session_id)
        raise
    log.info(
        "payment_succeeded",
        payment=payment.public_id,
        session=session_id,
        amount=payment.amount,
        currency=payment.currency,
        vouchers=len(payment.tenders),
    )
    return payment
