"""Issuing vouchers: one at a time (generated or imported code) or many on the same terms."""

from __future__ import annotations

import datetime
import json
from typing import Any

import structlog
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from superpayment.errors import violated_constraint
from vouchers.codes import DEFAULT_RANDOM_LENGTH, code_generate, code_import_validate
from vouchers.due_work import vouchers_due_work_schedule
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.events import BULK_EVENTS_MAX, VOUCHER_CREATED, voucher_event_record
from vouchers.models import Voucher, VoucherLedgerEntry, voucher_public_id_new
from vouchers.rules import voucher_metadata_validate, voucher_rules_validate
from vouchers.validation import amount_validate, voucher_currency_validate

log = structlog.get_logger(__name__)

BULK_BATCH_SIZE = 5_000
BULK_MAX_COUNT = 100_000
CODE_ATTEMPTS = 5


def voucher_issue_terms(
    *,
    currency: str,
    amount: int,
    livemode: bool,
    valid_from: datetime.datetime | None,
    expires_at: datetime.datetime | None,
    rules: dict | None,
    metadata: dict | None,
    created_by: int | None,
) -> dict[str, Any]:
    """The validated column values shared by every voucher of an issue."""
    amount = amount_validate(amount)
    if expires_at is not None and expires_at <= timezone.now():
        raise VoucherError(
            VoucherErrorCode.VALIDITY_INVALID,
            "The expiry must be in the future.",
            param="expires_at",
        )
    if valid_from is not None and expires_at is not None and valid_from >= expires_at:
        raise VoucherError(
            VoucherErrorCode.VALIDITY_INVALID,
            "The voucher must become valid before it expires.",
            param="valid_from",
        )
    return {
        "currency": voucher_currency_validate(currency),
        "initial_amount": amount,
        "balance": amount,
        "livemode": livemode,
        "valid_from": valid_from,
        "expires_at": expires_at,
        "rules": voucher_rules_validate(rules),
        "metadata": voucher_metadata_validate(metadata),
        "created_by": created_by,
    }


def bulk_count_validate(count: Any, *, maximum: int = BULK_MAX_COUNT) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= maximum:
        raise VoucherError(
            VoucherErrorCode.COUNT_INVALID,
            f"Issue 1 to {maximum} vouchers at a time.",
            param="count",
        )
    return count


def voucher_issue_bulk_terms(
    *, count: int, prefix: str, length: int, **terms: Any
) -> dict[str, Any]:
    """Refuse a bad bulk issue before any work and return its validated terms (`terms` are
    voucher_issue_terms' arguments): the count first, then the terms, then the prefix and length
    of the codes to generate. Shared by voucher_issue_bulk and voucher_job_create, so a job is
    refused exactly when an immediate bulk issue would be."""
    bulk_count_validate(count)
    validated = voucher_issue_terms(**terms)
    code_generate(prefix=prefix, length=length)  # refuses a weak prefix/length
    return validated


def _is_code_conflict(exc: IntegrityError) -> bool:
    return "code" in violated_constraint(exc)


def voucher_issue(
    *,
    currency: str,
    amount: int,
    livemode: bool = False,
    code: str | None = None,
    prefix: str = "",
    length: int = DEFAULT_RANDOM_LENGTH,
    valid_from: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    rules: dict | None = None,
    metadata: dict | None = None,
    created_by: int | None = None,
) -> Voucher:
    """Issue one voucher with a generated code (`prefix` + `length` random symbols), or with
    `code` when the merchant brings codes from another system. Records `voucher.created`."""
    terms = voucher_issue_terms(
        currency=currency,
        amount=amount,
        livemode=livemode,
        valid_from=valid_from,
        expires_at=expires_at,
        rules=rules,
        metadata=metadata,
        created_by=created_by,
    )
    imported = code_import_validate(code) if code is not None else None
    for _ in range(CODE_ATTEMPTS):
        candidate = imported or code_generate(prefix=prefix, length=length)
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create(code=candidate, **terms)
                VoucherLedgerEntry.objects.create(
                    voucher=voucher,
                    kind=VoucherLedgerEntry.Kind.ISSUE,
                    amount=voucher.balance,
                    balance_after=voucher.balance,
                    actor=created_by,
                )
                voucher_event_record(voucher=voucher, event_type=VOUCHER_CREATED)
                vouchers_due_work_schedule(expiries=[voucher.expires_at], livemode=livemode)
            return voucher
        except IntegrityError as exc:
            if not _is_code_conflict(exc):
                raise
            if imported:
                raise VoucherError(
                    VoucherErrorCode.CODE_TAKEN,
                    "This voucher code is already in use.",
                    param="code",
                ) from exc
    raise VoucherError(VoucherErrorCode.CODE_TAKEN, "Could not find a free code; try a longer one.")


# One statement per batch: the vouchers and their issue entries, codes that already exist skipped
# (ON CONFLICT DO NOTHING) and drawn again. Every value is a parameter; arrays carry the codes.
_BULK_INSERT_SQL = """
WITH issued AS (
    INSERT INTO vouchers_voucher
           (public_id, code, currency, initial_amount, balance, status, livemode, valid_from,
            expires_at, rules, metadata, redemption_count, created_by, job_id, version,
            created_at, updated_at)
    SELECT batch.public_id, batch.code, %(currency)s::varchar, %(amount)s::bigint,
           %(amount)s::bigint, 'active', %(livemode)s::boolean, %(valid_from)s::timestamptz,
           %(expires_at)s::timestamptz, %(rules)s::jsonb, %(metadata)s::jsonb, 0,
           %(created_by)s::bigint, %(job_id)s::varchar, 1, %(now)s::timestamptz,
           %(now)s::timestamptz
      FROM unnest(%(public_ids)s::text[], %(codes)s::text[]) AS batch(public_id, code)
    ON CONFLICT (code) DO NOTHING
    RETURNING id, public_id, code
), entries AS (
    INSERT INTO vouchers_voucherledgerentry
           (voucher_id, kind, amount, balance_after, reason, reference, order_id, actor,
            created_at)
    SELECT id, 'issue', %(amount)s::bigint, %(amount)s::bigint, '', '', '',
           %(created_by)s::bigint, %(now)s::timestamptz
      FROM issued
)
SELECT id, public_id, code FROM issued
"""


def vouchers_insert_generated(
    *,
    count: int,
    prefix: str,
    length: int,
    terms: dict[str, Any],
    job_id: str = "",
    events: bool,
) -> list[Voucher]:
    """Insert `count` vouchers with new generated codes on `terms`, with their issue entries
    and, when `events`, one voucher.created each. Inside the caller's transaction."""
    now = timezone.now()
    params = {
        "currency": terms["currency"],
        "amount": terms["initial_amount"],
        "livemode": terms["livemode"],
        "valid_from": terms["valid_from"],
        "expires_at": terms["expires_at"],
        "rules": json.dumps(terms["rules"]),
        "metadata": json.dumps(terms["metadata"]),
        "created_by": terms["created_by"],
        "job_id": job_id,
        "now": now,
    }
    rows: list[tuple[int, str, str]] = []
    for _ in range(CODE_ATTEMPTS):
        missing = count - len(rows)
        if not missing:
            break
        codes: set[str] = set()
        while len(codes) < missing:
            codes.add(code_generate(prefix=prefix, length=length))
        ordered = list(codes)
        with connection.cursor() as cursor:
            cursor.execute(
                _BULK_INSERT_SQL,
                params
                | {
                    "codes": ordered,
                    "public_ids": [voucher_public_id_new() for _ in ordered],
                },
            )
            rows.extend(cursor.fetchall())
    if len(rows) < count:
        raise VoucherError(
            VoucherErrorCode.CODE_TAKEN, "Could not find free codes; try longer ones."
        )
    vouchers_due_work_schedule(expiries=[terms["expires_at"]], livemode=terms["livemode"])
    vouchers = [
        Voucher(
            pk=pk,
            public_id=public_id,
            code=code,
            job_id=job_id,
            redemption_count=0,
            status=Voucher.Status.ACTIVE,
            version=1,
            created_at=now,
            updated_at=now,
            **terms,
        )
        for pk, public_id, code in sorted(rows)
    ]
    for voucher in vouchers:
        voucher._state.adding = False
        voucher._state.db = "default"
    if events:
        for voucher in vouchers:
            voucher_event_record(voucher=voucher, event_type=VOUCHER_CREATED)
    return vouchers


@transaction.atomic
def voucher_issue_bulk(
    *,
    count: int,
    currency: str,
    amount: int,
    livemode: bool = False,
    prefix: str = "",
    length: int = DEFAULT_RANDOM_LENGTH,
    valid_from: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    rules: dict | None = None,
    metadata: dict | None = None,
    created_by: int | None = None,
    batch_size: int = BULK_BATCH_SIZE,
) -> list[Voucher]:
    """Issue `count` vouchers on the same terms, all or none, inserted in batches. Up to
    BULK_EVENTS_MAX vouchers, each gets its voucher.created event; above, none do."""
    terms = voucher_issue_bulk_terms(
        count=count,
        prefix=prefix,
        length=length,
        currency=currency,
        amount=amount,
        livemode=livemode,
        valid_from=valid_from,
        expires_at=expires_at,
        rules=rules,
        metadata=metadata,
        created_by=created_by,
    )
    issued: list[Voucher] = []
    for start in range(0, count, batch_size):
        issued.extend(
            vouchers_insert_generated(
                count=min(batch_size, count - start),
                prefix=prefix,
                length=length,
                terms=terms,
                events=count <= BULK_EVENTS_MAX,
            )
        )
    log.info("vouchers_issued_bulk", count=count, currency=terms["currency"])
    return issued
