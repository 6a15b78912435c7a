"""The schema-scoped table list answers what django-tenants' (Django's stock query run with the
schema alone on the search path) answers, for every kind of relation Django lists."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection
from django_tenants.utils import schema_context

from superpayment.postgresql_backend.base import SchemaScopedIntrospection

pytestmark = pytest.mark.django_db

# One of each kind Django's query distinguishes (table, view, materialized view, partitioned
# table and its partition) and a comment; rolled back with the test.
EXTRA_RELATIONS = """
CREATE VIEW extra_view AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW extra_matview AS SELECT 1 AS one;
CREATE TABLE extra_parted (id int) PARTITION BY RANGE (id);
CREATE TABLE extra_parted_low PARTITION OF extra_parted FOR VALUES FROM (0) TO (10);
COMMENT ON TABLE extra_parted_low IS 'the low ids';
"""


def _both(schema_name: str) -> tuple[list, list]:
    with schema_context(schema_name), connection.cursor() as cursor:
        scoped = SchemaScopedIntrospection(connection).get_table_list(cursor)
        stock = DatabaseSchemaIntrospection(connection).get_table_list(cursor)
    return scoped, stock


@pytest.mark.parametrize("schema", ["merchant", "template", "public"])
def test_the_schema_scoped_table_list_is_the_stock_one(schema, merchant_a):
    schema_name = {
        "merchant": merchant_a.schema_name,
        "template": settings.TENANT_BASE_SCHEMA,
        "public": settings.PUBLIC_SCHEMA_NAME,
    }[schema]
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute(EXTRA_RELATIONS)

    scoped, stock = _both(schema_name)

    assert sorted(scoped) == sorted(stock)
    names = {table.name: table for table in scoped}
    assert names["extra_view"].type == names["extra_matview"].type == "v"
    assert (names["extra_parted"].type, names["extra_parted_low"].type) == ("t", "p")
    assert names["extra_parted_low"].comment == "the low ids"
    assert ("tenants_merchant" in names) == (schema == "public")
    assert ("vouchers_voucher" in names) == (schema != "public")
