"""Merchant schemas stand alone, so they can be spread over machines (docs/scaling.md)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db

_FOREIGN_KEYS_SQL = """
SELECT c.conname, src.nspname, c.conrelid::regclass::text, dst.nspname,
       c.confrelid::regclass::text
  FROM pg_constraint c
  JOIN pg_class srel ON srel.oid = c.conrelid
  JOIN pg_namespace src ON src.oid = srel.relnamespace
  JOIN pg_class drel ON drel.oid = c.confrelid
  JOIN pg_namespace dst ON dst.oid = drel.relnamespace
 WHERE c.contype = 'f' AND src.nspname = %s
"""


def _foreign_keys(schema_name: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_FOREIGN_KEYS_SQL, [schema_name])
        return cursor.fetchall()


def test_no_foreign_key_leaves_the_merchant_template_schema():
    keys = _foreign_keys(settings.TENANT_BASE_SCHEMA)
    assert keys, "the template schema has foreign keys of its own; the query must see them"
    crossing = [key for key in keys if key[3] != settings.TENANT_BASE_SCHEMA]
    assert crossing == []


def test_no_foreign_key_leaves_a_merchant_schema(merchant_a):
    keys = _foreign_keys(merchant_a.schema_name)
    assert keys
    assert [key for key in keys if key[3] != merchant_a.schema_name] == []
