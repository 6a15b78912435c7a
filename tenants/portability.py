"""One merchant out of the database and back in: its schema's rows and its public rows as one
JSON document (`merchant_export`), restored into a new, empty merchant (`merchant_import`).

What moves: every row of the merchant's schema (vouchers and their ledger, checkout sessions,
payments, refunds, webhook endpoints, events and deliveries…), with their ids; its memberships
(re-linked to the accounts with the same email in the target deployment); its audit log and
liability snapshots. What is reissued: API keys (a secret is shown once and only its hash is
kept; a restored copy must never answer the original merchant's keys) and host names (the new
slug gets its own). What stays with the platform's books: commission entries, invoices and plans
are exported for the record but not imported, so a copy is never billed twice. Users are
accounts of the platform, not of one merchant: they are referred to by email.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from tenants.models import Membership, Merchant, User

FORMAT = "superpayment.merchant-export/1"


# Public tables restored on import (re-pointed at the new merchant); the rest is for the record.
def _restored_public() -> tuple[str, str]:
    from billing.models import VoucherLiabilitySnapshot
    from tenants.models import AuditLog

    return AuditLog._meta.db_table, VoucherLiabilitySnapshot._meta.db_table


class PortabilityError(Exception):
    pass


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _schema_tables(schema_name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
            [schema_name],
        )
        return [row[0] for row in cursor.fetchall()]


def _rows(sql: str, params: Iterable[Any] = ()) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in cursor]


def _table_rows(schema_name: str, table: str) -> list[dict]:
    return _rows(f"SELECT to_jsonb(t) FROM {_quote(schema_name)}.{_quote(table)} t ORDER BY 1")  # noqa: S608


def _public_references() -> list[tuple[str, str, str]]:
    """(table, column, referenced table) of every public foreign key, to follow from the
    merchant row to the rows that belong to it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT src.relname, a.attname, dst.relname
              FROM pg_constraint c
              JOIN pg_class src ON src.oid = c.conrelid
              JOIN pg_class dst ON dst.oid = c.confrelid
              JOIN pg_namespace n ON n.oid = src.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND n.nspname = %s AND array_length(c.conkey, 1) = 1
            """,
            [settings.PUBLIC_SCHEMA_NAME],
        )
        return cursor.fetchall()


def _public_rows(merchant: Merchant) -> dict[str, list[dict]]:
    """The merchant's row and every public row that refers to it, or to such a row (invoice
    lines through invoices); never the users' own rows."""
    public = _quote(settings.PUBLIC_SCHEMA_NAME)
    merchant_table = Merchant._meta.db_table
    found: dict[str, list[dict]] = {
        merchant_table: _rows(
            f"SELECT to_jsonb(t) FROM {public}.{_quote(merchant_table)} t WHERE id = %s",  # noqa: S608
            [merchant.pk],
        )
    }
    references = _public_references()
    frontier = [merchant_table]
    while frontier:
        parent = frontier.pop()
        ids = [row["id"] for row in found[parent]]
        for table, column, referenced in references:
            if referenced != parent or table in found or table == User._meta.db_table:
                continue
            found[table] = _rows(
                f"SELECT to_jsonb(t) FROM {public}.{_quote(table)} t "  # noqa: S608
                f"WHERE {_quote(column)} = ANY(%s) ORDER BY 1",
                [ids],
            )
            frontier.append(table)
    return found


def _migrations(schema_name: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT app, name FROM {_quote(schema_name)}.django_migrations ORDER BY app, name"  # noqa: S608
        )
        return [list(row) for row in cursor.fetchall()]


def merchant_export(*, merchant: Merchant) -> dict:
    """Everything of one merchant, read in one repeatable-read snapshot."""
    connection.set_schema_to_public()
    outer = connection.in_atomic_block  # then the caller's transaction is the snapshot
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        schema = merchant.schema_name
        tables = {
            table: _table_rows(schema, table)
            for table in _schema_tables(schema)
            if table != "django_migrations"
        }
        public = _public_rows(merchant)
        emails = dict(
            User.objects.filter(memberships__merchant=merchant).values_list("pk", "email")
        )
    return {
        "format": FORMAT,
        "merchant": {
            "slug": merchant.slug,
            "name": merchant.name,
            "country": merchant.country,
            "default_currency": merchant.default_currency,
            "status": merchant.status,
        },
        "migrations": _migrations(schema),
        "schema": tables,
        "public": public,
        "user_emails": {str(pk): email for pk, email in emails.items()},
    }


def merchant_export_write(*, merchant: Merchant, path: Path) -> None:
    path.write_text(json.dumps(merchant_export(merchant=merchant), default=str))


@dataclass(frozen=True)
class ImportResult:
    merchant: Merchant
    rows: int
    members_missing: list[str]


def _load_table(schema_name: str, table: str, rows: list[dict]) -> None:
    target = f"{_quote(schema_name)}.{_quote(table)}"
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {target} CASCADE")
        if rows:
            cursor.execute(
                f"INSERT INTO {target} SELECT * FROM jsonb_populate_recordset(NULL::{target}, %s)",  # noqa: S608
                [json.dumps(rows)],
            )


def _sequences_reset(schema_name: str) -> None:
    """Every sequence owned by a column of the schema moves past the ids just loaded."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.relname, t.relname, a.attname
              FROM pg_depend d
              JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
              JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
              JOIN pg_namespace n ON n.oid = s.relnamespace
             WHERE n.nspname = %s AND d.deptype IN ('a', 'i')
            """,
            [schema_name],
        )
        for sequence, table, column in cursor.fetchall():
            seq = f"{_quote(schema_name)}.{_quote(sequence)}"
            cursor.execute(
                f"SELECT setval('{seq}', COALESCE((SELECT max({_quote(column)}) "  # noqa: S608
                f"FROM {_quote(schema_name)}.{_quote(table)}), 1), "
                f"(SELECT max({_quote(column)}) IS NOT NULL "
                f"FROM {_quote(schema_name)}.{_quote(table)}))"
            )


def _public_restore(*, merchant: Merchant, document: dict) -> list[str]:
    """Memberships by email, audit entries and liability snapshots re-pointed at `merchant`.
    Returns the emails of members who have no account here."""
    emails = document["user_emails"]
    users = {user.email.lower(): user for user in User.objects.filter(email__in=emails.values())}
    missing = []
    for row in document["public"].get(Membership._meta.db_table, []):
        email = emails.get(str(row["user_id"]), "")
        user = users.get(email.lower())
        if user is None:
            missing.append(email)
            continue
        Membership.objects.create(merchant=merchant, user=user, role=row["role"])
    public = _quote(settings.PUBLIC_SCHEMA_NAME)
    audit_table, _ = tables = _restored_public()
    for table in tables:
        rows = [
            {**row, "id": None, "merchant_id": merchant.pk}
            for row in document["public"].get(table, [])
        ]
        if table == audit_table:
            for row in rows:
                user = users.get(emails.get(str(row.get("actor_id")), "").lower())
                row["actor_id"] = user.pk if user else None
        if not rows:
            continue
        target = f"{public}.{_quote(table)}"
        columns = [name for name in rows[0] if name != "id"]
        names = ", ".join(_quote(name) for name in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {target} ({names}) SELECT {names} "  # noqa: S608
                f"FROM jsonb_populate_recordset(NULL::{target}, %s)",
                [json.dumps(rows)],
            )
    return missing


def merchant_import(*, document: dict, slug: str) -> ImportResult:
    """Restore an export into a new merchant `slug` (refused if it exists or if the export was
    taken at another schema version). All of it or nothing, once the merchant is provisioned."""
    from duework.services import due_work_rebuild
    from tenants.services import provision_merchant
    from webhooks.models import Delivery
    from webhooks.queue.models import DueDelivery

    if document.get("format") != FORMAT:
        raise PortabilityError("This file is not a SuperPayment merchant export.")
    if Merchant.objects.filter(slug=slug).exists():
        raise PortabilityError(f"A merchant {slug!r} exists; import into a new slug.")
    source = document["merchant"]
    merchant = provision_merchant(
        slug=slug,
        name=source["name"],
        country=source["country"],
        default_currency=source["default_currency"],
    ).merchant
    try:
        if _migrations(merchant.schema_name) != document["migrations"]:
            raise PortabilityError(
                "The export was taken at another schema version; import it into a deployment "
                "running the same release."
            )
        with transaction.atomic():
            rows = 0
            for table, table_rows in document["schema"].items():
                _load_table(merchant.schema_name, table, table_rows)
                rows += len(table_rows)
            _sequences_reset(merchant.schema_name)
            Merchant.objects.filter(pk=merchant.pk).update(status=source["status"])
            missing = _public_restore(merchant=merchant, document=document)
            with schema_context(merchant.schema_name):
                pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
                DueDelivery.objects.bulk_create(
                    DueDelivery(
                        schema_name=merchant.schema_name,
                        delivery_id=delivery.pk,
                        due_at=delivery.next_attempt_at or delivery.created_at,
                    )
                    for delivery in pending
                )
                due_work_rebuild()
    except BaseException:
        connection.set_schema_to_public()
        merchant.delete(force_drop=True)
        raise
    merchant.refresh_from_db()
    return ImportResult(merchant=merchant, rows=rows, members_missing=missing)


def merchant_import_read(*, path: Path, slug: str) -> ImportResult:
    return merchant_import(document=json.loads(path.read_text()), slug=slug)
