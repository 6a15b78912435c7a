"""Each merchant's tables live in its own schema: what A writes, B cannot see."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from vouchers.models import Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db


def test_data_written_in_one_merchant_schema_is_invisible_from_another(merchant_a, merchant_b):
    with schema_context(merchant_a.schema_name):
        voucher_issue(code="ISOLATIONA0001", currency="EUR", amount=1000)
        assert Voucher.objects.filter(code="ISOLATIONA0001").count() == 1

    with schema_context(merchant_b.schema_name):
        assert Voucher.objects.filter(code="ISOLATIONA0001").count() == 0
        # The same code may exist independently in B: uniqueness is per merchant.
        voucher_issue(code="ISOLATIONA0001", currency="EUR", amount=5)
        assert Voucher.objects.get(code="ISOLATIONA0001").balance == 5

    with schema_context(merchant_a.schema_name):
        assert Voucher.objects.get(code="ISOLATIONA0001").balance == 1000


def test_tenant_tables_do_not_exist_in_the_public_schema(merchant_a):
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s",
            ["vouchers_voucher"],
        )
        schemas = {row[0] for row in cursor.fetchall()}
    assert "public" not in schemas
    assert merchant_a.schema_name in schemas
