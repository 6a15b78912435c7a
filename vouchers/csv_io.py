"""CSV import and export of vouchers.

Import is validated as a whole: a file with any bad row imports nothing, and every bad row is
reported (line, code, problem). Codes that repeat inside the file or exist already (in either
mode) are errors. Columns, with a header row:

    code,amount,currency,expires_at,valid_from

`code` 12 to 64 letters or digits (dashes and spaces ignored), `amount` in the currency's major
unit (`25.00` EUR, `500` JPY), `currency` ISO 4217, `expires_at` / `valid_from` optional ISO 8601
dates or instants (`2027-12-31` is the start of that day, UTC).

Export streams one row per voucher, full codes included, without loading them all at once.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from superpayment.csv_stream import csv_lines
from superpayment.money import MoneyError, amount_parse, currency_exponent, currency_validate
from vouchers.codes import code_format, code_import_validate
from vouchers.due_work import vouchers_due_work_schedule
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.events import BULK_EVENTS_MAX, VOUCHER_CREATED, voucher_event_record
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.validation import MAX_AMOUNT

IMPORT_COLUMNS = ("code", "amount", "currency", "expires_at", "valid_from")
IMPORT_REQUIRED = ("code", "amount", "currency")
IMPORT_MAX_ROWS = 50_000
IMPORT_MAX_BYTES = 10 * 1024 * 1024
EXPORT_COLUMNS = (
    "id",
    "code",
    "currency",
    "initial_amount",
    "balance",
    "status",
    "livemode",
    "valid_from",
    "expires_at",
    "redemption_count",
    "created",
    "job_id",
    "metadata",
)
EXPORT_CHUNK = 2_000


@dataclass(frozen=True)
class ImportRow:
    line: int
    raw_code: str
    code: str
    amount: int
    currency: str
    expires_at: datetime.datetime | None
    valid_from: datetime.datetime | None


@dataclass(frozen=True)
class ImportProblem:
    line: int
    code: str
    message: str


def _instant(text: str, *, column: str) -> datetime.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{column} is not an ISO 8601 date or instant.") from None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _row_parse(line: int, record: dict[str, str], now: datetime.datetime) -> ImportRow:
    raw_code = (record.get("code") or "").strip()
    code = code_import_validate(raw_code)
    try:
        currency = currency_validate(record.get("currency") or "")
        amount = amount_parse(record.get("amount") or "", currency)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None
    if not 0 < amount <= MAX_AMOUNT:
        raise ValueError("amount must be more than zero.")
    expires_at = _instant(record.get("expires_at", ""), column="expires_at")
    valid_from = _instant(record.get("valid_from", ""), column="valid_from")
    if expires_at is not None and expires_at <= now:
        raise ValueError("expires_at is in the past.")
    if expires_at and valid_from and valid_from >= expires_at:
        raise ValueError("valid_from must be before expires_at.")
    return ImportRow(line, raw_code, code, amount, currency, expires_at, valid_from)


def voucher_import_validate(*, data: bytes) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Every row parsed, or every problem found (a file-level problem is line 1)."""
    if len(data) > IMPORT_MAX_BYTES:
        return [], [ImportProblem(1, "", f"The file is over {IMPORT_MAX_BYTES // 2**20} MB.")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [ImportProblem(1, "", "The file is not UTF-8 text.")]
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in IMPORT_REQUIRED if name not in header]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if missing or unknown:
        problem = f"The header must name {', '.join(IMPORT_REQUIRED)} (and optionally "
        problem += "expires_at, valid_from)"
        problem += f"; missing: {', '.join(missing)}" if missing else ""
        problem += f"; unknown: {', '.join(unknown)}" if unknown else ""
        return [], [ImportProblem(1, "", problem + ".")]
    reader.fieldnames = header
    rows: list[ImportRow] = []
    problems: list[ImportProblem] = []
    first_line: dict[str, int] = {}
    now = timezone.now()
    for record in reader:
        line = reader.line_num
        if len(rows) + len(problems) >= IMPORT_MAX_ROWS:
            return [], [ImportProblem(line, "", f"A file holds at most {IMPORT_MAX_ROWS} rows.")]
        if None in record:
            problems.append(ImportProblem(line, "", "The row has more cells than the header."))
            continue
        raw_code = (record.get("code") or "").strip()
        try:
            row = _row_parse(line, record, now)
        except (ValueError, VoucherError) as exc:
            problems.append(ImportProblem(line, raw_code, getattr(exc, "message", str(exc))))
            continue
        if row.code in first_line:
            problems.append(
                ImportProblem(
                    line, raw_code, f"Duplicate of the code on line {first_line[row.code]}."
                )
            )
            continue
        first_line[row.code] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(ImportProblem(1, "", "The file has no voucher rows."))
    existing = set()
    codes = [row.code for row in rows]
    for start in range(0, len(codes), 5_000):
        existing.update(
            Voucher.objects.filter(code__in=codes[start : start + 5_000]).values_list(
                "code", flat=True
            )
        )
    for row in rows:
        if row.code in existing:
            problems.append(ImportProblem(row.line, row.raw_code, "This code already exists."))
    problems.sort(key=lambda problem: problem.line)
    return (rows, []) if not problems else ([], problems)


def import_report_csv(problems: list[ImportProblem]) -> str:
    """The problems as CSV; codes are echoed as the file had them, so they go through the same
    formula guard as every other CSV the product writes."""
    rows = ([problem.line, problem.code, problem.message] for problem in problems)
    return "".join(csv_lines(["line", "code", "problem"], rows))


@transaction.atomic
def vouchers_import(*, rows: list[ImportRow], livemode: bool, created_by: int | None) -> int:
    """Issue the validated rows, all or none; voucher.created for each up to BULK_EVENTS_MAX."""
    vouchers = [
        Voucher(
            code=row.code,
            currency=row.currency,
            initial_amount=row.amount,
            balance=row.amount,
            livemode=livemode,
            expires_at=row.expires_at,
            valid_from=row.valid_from,
            created_by=created_by,
        )
        for row in rows
    ]
    try:
        with transaction.atomic():
            Voucher.objects.bulk_create(vouchers, batch_size=5_000)
            vouchers_due_work_schedule(expiries=[row.expires_at for row in rows], livemode=livemode)
    except IntegrityError as exc:
        raise VoucherError(
            VoucherErrorCode.CODE_TAKEN,
            "A code in the file was issued while it was being imported; nothing was imported.",
        ) from exc
    VoucherLedgerEntry.objects.bulk_create(
        [
            VoucherLedgerEntry(
                voucher=voucher,
                kind=VoucherLedgerEntry.Kind.ISSUE,
                amount=voucher.balance,
                balance_after=voucher.balance,
                actor=created_by,
            )
            for voucher in vouchers
        ],
        batch_size=5_000,
    )
    if len(vouchers) <= BULK_EVENTS_MAX:
        for voucher in vouchers:
            voucher_event_record(voucher=voucher, event_type=VOUCHER_CREATED)
    return len(vouchers)


def _decimal(minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    if not exponent:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def _iso(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z") if value else ""


def vouchers_export_rows(*, vouchers: QuerySet[Voucher], schema_name: str) -> Iterator[str]:
    """CSV lines (header first) for `vouchers`, read in chunks with a server-side cursor."""
    return csv_lines(EXPORT_COLUMNS, _export_values(vouchers, schema_name))


def _export_values(vouchers: QuerySet[Voucher], schema_name: str) -> Iterator[list]:
    """Runs lazily, after the view has returned (a streamed response): it activates the
    merchant's schema itself for the read, and puts the connection back on public when done."""
    from tenants.models import Merchant

    connection.set_tenant(Merchant.objects.get(schema_name=schema_name))
    try:
        rows = vouchers.order_by("pk").values_list(
            "public_id",
            "code",
            "currency",
            "initial_amount",
            "balance",
            "status",
            "livemode",
            "valid_from",
            "expires_at",
            "redemption_count",
            "created_at",
            "job_id",
            "metadata",
        )
        for row in rows.iterator(chunk_size=EXPORT_CHUNK):
            (public_id, code, currency, initial, balance, status, livemode, valid_from,
             expires_at, redemptions, created_at, job_id, metadata) = row  # fmt: skip
            yield [
                public_id,
                code_format(code),
                currency,
                _decimal(initial, currency),
                _decimal(balance, currency),
                status,
                "true" if livemode else "false",
                _iso(valid_from),
                _iso(expires_at),
                redemptions,
                _iso(created_at),
                job_id,
                json.dumps(metadata, ensure_ascii=False) if metadata else "",
            ]
    finally:
        connection.set_schema_to_public()
