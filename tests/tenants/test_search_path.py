"""The search_path is sent once per tenant switch (TENANT_LIMIT_SET_CALLS), and a rollback that
reverts it never leaves later queries in another merchant's schema."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _server_search_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def test_one_set_per_tenant_switch_not_per_query(merchant_a):
    connection.set_tenant(merchant_a)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            _server_search_path()
    sets = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]
    assert len(sets) == 1
    assert merchant_a.schema_name in sets[0]
    connection.set_schema_to_public()


def test_a_switch_rolled_back_to_a_savepoint_is_set_again(merchant_a, merchant_b):
    connection.set_tenant(merchant_a)
    assert _server_search_path().startswith(merchant_a.schema_name)
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.set_tenant(merchant_b)
        assert _server_search_path().startswith(merchant_b.schema_name)
        raise RuntimeError("roll back")
    # Rolling back put the server back on merchant A while the connection still names B: the
    # next query must send B's search_path again, not trust what it set inside the savepoint.
    # (A whole-transaction ROLLBACK is handled the same way by the backend.)
    assert connection.schema_name == merchant_b.schema_name
    assert _server_search_path().startswith(merchant_b.schema_name)
    connection.set_schema_to_public()
