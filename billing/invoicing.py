"""Invoice runs: the commission ledger turned into one invoice per merchant and currency for a
billing period (a calendar month, UTC), set-based in SQL so 10,000 merchants cost a handful of
statements, not 10,000 round trips.

A run for period P (its end E exclusive):
1. takes a transaction-scoped advisory lock, so runs never overlap;
2. creates a draft invoice for every (merchant, currency) with live commission entries not yet
   on an invoice that occurred before E (`ON CONFLICT DO NOTHING` on the one-per-period key);
   entries that arrived late for an already finalized period are picked up by the next run;
3. attaches those entries to the period's drafts, rebuilds the drafts' day lines and totals;
4. finalizes the drafts (gap-free numbers `SP-<year>-000123`, the customer's billing details
   and VAT fixed from `billing.vat`, one audit row per invoice).

Finalized invoices (status other than draft) are never touched again, here or anywhere: database
triggers refuse any change to their amounts, lines or entries. So re-running a period changes
nothing final and fills only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.errors import BillingError, BillingErrorCode
from billing.models import Invoice
from billing.vat import issuer_missing, vat_terms_table
from tenants.audit import AuditAction, audit_record
from tenants.models import User

RUN_LOCK_KEY = 0x5350_4249  # "SPBI": one invoice run or finalization at a time


@dataclass(frozen=True, slots=True)
class RunResult:
    period_start: date
    drafts_created: int
    entries_attached: int
    finalized: int


def period_bounds(period_start: date) -> tuple[date, date]:
    """[first day of the month, first day of the next month)."""
    if period_start.day != 1:
        raise BillingError(BillingErrorCode.PERIOD_INVALID, "A period starts on the 1st.")
    year, month = divmod(period_start.month, 12)
    return period_start, date(period_start.year + year, month + 1, 1)


def period_previous(today: date) -> date:
    first = today.replace(day=1)
    return date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _actor_fields(actor: User | None) -> dict:
    if actor is None:
        return {"actor_type": "system", "actor_id": None, "actor_email": ""}
    return {"actor_type": "user", "actor_id": actor.pk, "actor_email": actor.email}


CREATE_DRAFTS = """
INSERT INTO billing_invoice (
    merchant_id, currency, period_start, period_end, status, subtotal, credits, total,
    entry_count, billed_name, billed_country, created_at, status_reason, stripe_state,
    stripe_invoice_id, stripe_hosted_url, stripe_items_added, stripe_attempts, stripe_error)
SELECT e.merchant_id, e.currency, %(start)s, %(end)s, 'draft', 0, 0, 0,
       0, '', '', %(now)s, '', 'not_sent', '', '', false, 0, ''
FROM billing_commissionentry e
WHERE e.livemode AND e.invoice_id IS NULL AND e.occurred_at < %(end_ts)s
GROUP BY e.merchant_id, e.currency
ON CONFLICT (merchant_id, currency, period_start) DO NOTHING
"""

ATTACH_ENTRIES = """
UPDATE billing_commissionentry e SET invoice_id = i.id
FROM billing_invoice i
WHERE i.period_start = %(start)s AND i.status = 'draft'
  AND i.merchant_id = e.merchant_id AND i.currency = e.currency
  AND e.livemode AND e.invoice_id IS NULL AND e.occurred_at < %(end_ts)s
"""

DELETE_DRAFT_LINES = """
DELETE FROM billing_invoiceline l USING billing_invoice i
WHERE l.invoice_id = i.id AND i.period_start = %(start)s AND i.status = 'draft'
"""

BUILD_LINES = """
INSERT INTO billing_invoiceline (invoice_id, day, kind, quantity, base_amount, amount)
SELECT e.invoice_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.kind,
       count(*), sum(e.base_amount), sum(e.amount)
FROM billing_commissionentry e
JOIN billing_invoice i ON i.id = e.invoice_id
WHERE i.period_start = %(start)s AND i.status = 'draft'
GROUP BY 1, 2, 3
"""

SUM_TOTALS = """
UPDATE billing_invoice i
SET subtotal = s.charges, credits = s.credits, total = s.charges + s.credits,
    amount_due = s.charges + s.credits, entry_count = s.n  -- VAT comes at finalization
FROM (
    SELECT l.invoice_id,
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'charge'), 0) AS charges,
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'reversal'), 0) AS credits,
           sum(l.quantity) AS n
    FROM billing_invoiceline l JOIN billing_invoice d ON d.id = l.invoice_id
    WHERE d.period_start = %(start)s AND d.status = 'draft'
    GROUP BY l.invoice_id
) s
WHERE s.invoice_id = i.id
"""

FINALIZE = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY merchant_id, currency, id) AS rn
    FROM billing_invoice WHERE {where} AND status = 'draft'
), vat AS (
    SELECT * FROM unnest(%(vat_country)s::text[], %(vat_with_id)s::bool[],
                         %(vat_treatment)s::text[], %(vat_rate)s::int[], %(vat_note)s::text[])
        AS t(country, with_id, treatment, rate, note)
), billed AS (
    SELECT n.id, n.rn, m.country, coalesce(nullif(p.legal_name, ''), m.name) AS name,
           coalesce(p.address, '') AS address, coalesce(p.vat_id, '') AS vat_id,
           coalesce(v.treatment, %(other_treatment)s) AS treatment,
           coalesce(v.rate, %(other_rate)s) AS rate, coalesce(v.note, %(other_note)s) AS note,
           -- billing.vat.vat_amount: half-up on the magnitude, with the net total's sign
           sign(d.total)::bigint
             * ((2 * abs(d.total) * coalesce(v.rate, %(other_rate)s) + 10000) / 20000) AS tax
    FROM numbered n
    JOIN billing_invoice d ON d.id = n.id
    JOIN tenants_merchant m ON m.id = d.merchant_id
    LEFT JOIN billing_billingprofile p ON p.merchant_id = m.id
    LEFT JOIN vat v ON v.country = m.country AND v.with_id = (coalesce(p.vat_id, '') <> '')
), done AS (
    UPDATE billing_invoice i
    SET status = 'open', number_year = %(year)s, number_seq = %(base)s + b.rn,
        number = 'SP-' || %(year)s || '-' || lpad((%(base)s + b.rn)::text,
                 greatest(6, length((%(base)s + b.rn)::text)), '0'),
        finalized_at = %(now)s, billed_name = b.name, billed_country = b.country,
        billed_address = b.address, billed_vat_id = b.vat_id,
        tax_treatment = b.treatment, tax_rate_bps = b.rate, tax_note = b.note,
        tax_amount = b.tax, amount_due = i.total + b.tax,
        stripe_state = %(stripe_state)s
    FROM billed b
    WHERE i.id = b.id
    RETURNING i.id, i.merchant_id, i.number, i.total, i.tax_amount, i.amount_due, i.currency
)
INSERT INTO tenants_auditlog (
    created_at, actor_type, actor_id, actor_email, merchant_id, action, target_type, target_id,
    ip_address, user_agent, details)
SELECT %(now)s, %(actor_type)s, %(actor_id)s, %(actor_email)s, merchant_id,
       'invoice.finalized', 'billing.invoice', id::text, NULL, '',
       jsonb_build_object('number', number, 'total', total, 'tax', tax_amount,
                          'amount_due', amount_due, 'currency', currency,
                          'reason', %(reason)s::text)
FROM done
"""


def _vat_params() -> dict:
    columns, elsewhere = vat_terms_table(settings.BILLING_COMPANY_COUNTRY)
    return {
        **{f"vat_{name}": values for name, values in columns.items()},
        "other_treatment": elsewhere.treatment,
        "other_rate": elsewhere.rate_bps,
        "other_note": elsewhere.note,
    }


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_API_KEY)


def _lock(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK_KEY])


def _issuer_check() -> None:
    if not settings.PRODUCTION:
        return
    missing = issuer_missing(
        vat_id=settings.BILLING_COMPANY_VAT_ID,
        address=settings.BILLING_COMPANY_ADDRESS,
        iban=settings.BILLING_BANK_IBAN,
        stripe=stripe_enabled(),
    )
    if missing:
        raise BillingError(
            BillingErrorCode.ISSUER_INCOMPLETE,
            "Invoices cannot be issued until these settings are set: " + ", ".join(missing) + ".",
        )


def _finalize(cursor, *, where: str, params: dict, actor: User | None, reason: str) -> int:
    # `where` is one of this module's constant clauses, never input.
    count_sql = f"SELECT count(*) FROM billing_invoice WHERE {where} AND status = 'draft'"  # noqa: S608
    cursor.execute(count_sql, params)
    count = cursor.fetchone()[0]
    if not count:
        return 0
    _issuer_check()
    now = timezone.now()
    year = now.year
    cursor.execute(
        "INSERT INTO billing_invoicenumbersequence (year, last_number) VALUES (%s, 0) "
        "ON CONFLICT (year) DO NOTHING",
        [year],
    )
    # The sequence row stays locked until commit: numbers are gap-free and never reused.
    cursor.execute(
        "UPDATE billing_invoicenumbersequence SET last_number = last_number + %s "
        "WHERE year = %s RETURNING last_number",
        [count, year],
    )
    base = cursor.fetchone()[0] - count
    state = Invoice.StripeState.PENDING if stripe_enabled() else Invoice.StripeState.NOT_SENT
    cursor.execute(
        FINALIZE.format(where=where),
        {
            **params,
            "year": year,
            "base": base,
            "now": now,
            "stripe_state": state,
            "reason": reason,
            **_vat_params(),
            **_actor_fields(actor),
        },
    )
    return count


def _enqueue_stripe(invoice_ids: list[int]) -> None:
    if not (stripe_enabled() and invoice_ids):
        return
    from billing.tasks import invoice_send

    def send() -> None:
        for invoice_id in invoice_ids:
            invoice_send.delay(invoice_id)

    transaction.on_commit(send)


@transaction.atomic
def invoice_run(
    *,
    period_start: date,
    actor: User | None = None,
    finalize: bool | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Bill the period. Only a period that has ended can be run. `finalize` defaults to the
    BILLING_AUTO_FINALIZE setting; without it the drafts wait for `invoice_finalize_period`."""
    start, end = period_bounds(period_start)
    if _midnight(end) > (now or timezone.now()):
        raise BillingError(BillingErrorCode.PERIOD_INVALID, "Only a past period can be billed.")
    finalize = settings.BILLING_AUTO_FINALIZE if finalize is None else finalize
    params = {"start": start, "end": end, "end_ts": _midnight(end), "now": timezone.now()}
    with connection.cursor() as cursor:
        _lock(cursor)
        cursor.execute(CREATE_DRAFTS, params)
        created = cursor.rowcount
        cursor.execute(ATTACH_ENTRIES, params)
        attached = cursor.rowcount
        if attached:
            cursor.execute(DELETE_DRAFT_LINES, params)
            cursor.execute(BUILD_LINES, params)
            cursor.execute(SUM_TOTALS, params)
        finalized = 0
        if finalize:
            to_send = []
            if stripe_enabled():
                cursor.execute(
                    "SELECT id FROM billing_invoice WHERE period_start = %(start)s "
                    "AND status = 'draft' ORDER BY id",
                    params,
                )
                to_send = [row[0] for row in cursor.fetchall()]
            finalized = _finalize(
                cursor,
                where="period_start = %(start)s",
                params=params,
                actor=actor,
                reason="invoice run",
            )
            _enqueue_stripe(to_send)
    audit_record(
        action=AuditAction.INVOICE_RUN,
        actor=actor,
        target=("billing.period", start.isoformat()),
        details={
            "period_start": start.isoformat(),
            "drafts_created": created,
            "entries_attached": attached,
            "finalized": finalized,
        },
    )
    return RunResult(start, created, attached, finalized)


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, actor: User | None, reason: str = "") -> Invoice:
    """Finalize one draft: number it, make it immutable, queue it for Stripe."""
    with connection.cursor() as cursor:
        _lock(cursor)
        done = _finalize(
            cursor,
            where="id = %(id)s",
            params={"id": invoice.pk},
            actor=actor,
            reason=reason or "finalized by hand",
        )
    if not done:
        raise BillingError(
            BillingErrorCode.INVOICE_TRANSITION_INVALID, "Only a draft can be finalized."
        )
    _enqueue_stripe([invoice.pk])
    invoice.refresh_from_db()
    return invoice
