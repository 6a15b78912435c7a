"""Prepared statements on the payment path: one statement text serves every merchant, and each
run reads the active merchant's tables (PostgreSQL re-parses it when the search_path changes)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from superpayment.prepared import prepared_fetch, prepared_fetch_one
from tests.checkout.support import issue

pytestmark = pytest.mark.django_db

COUNT_VOUCHERS = "SELECT count(*), sum(balance)::bigint FROM vouchers_voucher"


def test_one_prepared_statement_reads_each_merchants_own_tables(merchant_a, merchant_b):
    issue(merchant_a, 1_000)
    issue(merchant_b, 2_000)
    issue(merchant_b, 3_000)

    seen = []
    for merchant in (merchant_a, merchant_b, merchant_a, merchant_b):
        with schema_context(merchant.schema_name):
            seen.append(prepared_fetch_one(COUNT_VOUCHERS, {}))
    assert seen == [(1, 1_000), (2, 5_000), (1, 1_000), (2, 5_000)]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s AND NOT from_sql",
            [COUNT_VOUCHERS],
        )
        assert cursor.fetchone() == (1,)


def test_public_tables_are_named_by_placeholder_and_statements_are_logged(merchant_a):
    from django.test.utils import CaptureQueriesContext

    with schema_context(merchant_a.schema_name), CaptureQueriesContext(connection) as queries:
        rows = prepared_fetch(
            "SELECT slug FROM {public}.tenants_merchant WHERE id = %(id)s", {"id": merchant_a.pk}
        )
    assert rows == [(merchant_a.slug,)]
    logged = [query["sql"] for query in queries.captured_queries]
    assert [sql for sql in logged if not sql.startswith("SET search_path")] == [
        'SELECT slug FROM "public".tenants_merchant WHERE id = %(id)s'
    ]


def test_a_row_loads_into_the_same_model_instance_as_the_orm_gives(merchant_a):
    """model_columns + model_from_row: every field as a queryset loads it (JSON decoded,
    datetimes aware), so services can hand these instances on like any other."""
    import datetime

    from django.utils import timezone

    from superpayment.prepared import model_columns, model_from_row
    from vouchers.models import Voucher

    expires_at = timezone.now() + datetime.timedelta(days=30)
    voucher = issue(
        merchant_a,
        2_500,
        expires_at=expires_at,
        rules={"min_order_amount": 1_000, "single_use": True},
        metadata={"campaign": "winter", "channel": "newsletter"},
    )
    with schema_context(merchant_a.schema_name):
        row = prepared_fetch_one(
            f"SELECT {model_columns(Voucher, 'v')} FROM vouchers_voucher v WHERE v.id = %(id)s",  # noqa: S608 - column names from model meta
            {"id": voucher.pk},
        )
        loaded = model_from_row(Voucher, row)
        expected = Voucher.objects.get(pk=voucher.pk)

    fields = [field.attname for field in Voucher._meta.concrete_fields]
    assert {name: getattr(loaded, name) for name in fields} == {
        name: getattr(expected, name) for name in fields
    }
    assert loaded.rules == {"min_order_amount": 1_000, "single_use": True}
    assert loaded.expires_at == expires_at
    assert loaded._state.adding is False
