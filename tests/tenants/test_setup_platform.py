"""setup_platform: only the schemas behind are migrated, a stopped run continues, a new tenant
migration reaches every schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from tenants import migrating
from tenants.migrating import SchemaMigrator, code_migrations_digest
from tenants.models import Merchant
from tenants.services import provision_merchant
from tests.helpers import committed

pytestmark = pytest.mark.django_db

# The tenant migration a release "adds": unapplied in a schema by Django's own executor, so
# applying it again is real work (it creates vouchers_voucherjob).
NEW_MIGRATION = ("vouchers", "0004_voucher_jobs")
BEFORE_IT = ("vouchers", "0003_voucher_holds")
NEW_TABLE = "vouchers_voucherjob"


def _schemas() -> list[str]:
    return list(
        Merchant.objects.order_by("-is_template", "pk").values_list("schema_name", flat=True)
    )


def _put_behind(schema_name: str) -> None:
    """`schema_name` as it was before NEW_MIGRATION existed, and recorded so."""
    connection.set_schema(schema_name)
    MigrationExecutor(connection).migrate([BEFORE_IT])
    connection.set_schema_to_public()
    Merchant.objects.filter(schema_name=schema_name).update(migrations_digest="older-release")


def _has_new_migration(schema_name: str) -> bool:
    recorded_sql = sql.SQL(
        "SELECT EXISTS(SELECT 1 FROM {}.django_migrations WHERE app = %s AND name = %s)"
    ).format(sql.Identifier(schema_name))
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema_name}".{NEW_TABLE}'])
        table = cursor.fetchone()[0]
        cursor.execute(recorded_sql, list(NEW_MIGRATION))
        recorded = cursor.fetchone()[0]
    assert table == recorded
    return table


@pytest.fixture
def migrated(monkeypatch) -> list[str]:
    """Every schema SchemaMigrator.migrate is called for, in order."""
    calls: list[str] = []
    original = SchemaMigrator.migrate

    def counting(self, schema_name):
        calls.append(schema_name)
        return original(self, schema_name)

    monkeypatch.setattr(SchemaMigrator, "migrate", counting)
    return calls


def _setup_platform() -> None:
    # One process: in the test's transaction, on its connection.
    call_command("setup_platform", processes=1, verbosity=0)


def test_a_new_tenant_migration_is_applied_to_every_schema(migrated):
    schemas = _schemas()
    assert len(schemas) >= 3  # the template and the session's two merchants
    for schema_name in schemas:
        _put_behind(schema_name)
        assert not _has_new_migration(schema_name)

    _setup_platform()

    assert migrated == schemas  # the template first
    digest = code_migrations_digest()
    for schema_name in schemas:
        assert _has_new_migration(schema_name)
    assert set(Merchant.objects.values_list("migrations_digest", flat=True)) == {digest}


def test_a_stopped_run_continues_where_it_stopped(monkeypatch, migrated):
    schemas = _schemas()
    for schema_name in schemas:
        _put_behind(schema_name)
    stop_at = schemas[2]
    original = SchemaMigrator.migrate

    def killed_at_the_third_schema(self, schema_name):
        if schema_name == stop_at:
            raise KeyboardInterrupt  # the process is stopped: nothing after this runs
        return original(self, schema_name)

    with monkeypatch.context() as patch:
        patch.setattr(SchemaMigrator, "migrate", killed_at_the_third_schema)
        with pytest.raises(KeyboardInterrupt):
            _setup_platform()
    assert [_has_new_migration(s) for s in schemas[:3]] == [True, True, False]
    migrated.clear()

    _setup_platform()

    assert migrated == schemas[2:]  # only what the first run had not finished
    assert all(_has_new_migration(s) for s in schemas)


def test_one_failing_schema_does_not_stop_the_others_and_fails_the_run(monkeypatch):
    from django.core.management.base import CommandError

    schemas = _schemas()
    for schema_name in schemas:
        _put_behind(schema_name)
    broken = schemas[1]
    with connection.cursor() as cursor:  # the new migration's table is in the way
        cursor.execute(f'CREATE TABLE "{broken}".{NEW_TABLE} (id int)')

    with pytest.raises(CommandError, match="1 merchant schema"):
        _setup_platform()
    assert [_has_new_migration(s) for s in schemas if s != broken] == [True] * (len(schemas) - 1)
    assert Merchant.objects.get(schema_name=broken).migrations_digest == "older-release"


def test_constraint_names_are_aligned_once_for_every_schema_behind_before_migrating(
    monkeypatch, migrated
):
    # A migration may name a constraint: older clones get the template's names first, in one
    # pass over the schemas behind, not one catalog query per schema after its migrations.
    from tenants import cloning

    schemas = _schemas()
    for schema_name in schemas:
        _put_behind(schema_name)
    aligned: list[tuple[list[str], int]] = []
    original = cloning.clone_constraint_names_align

    def recording(*, template, schemas):
        aligned.append((list(schemas), len(migrated)))
        return original(template=template, schemas=schemas)

    monkeypatch.setattr(cloning, "clone_constraint_names_align", recording)

    _setup_platform()

    assert aligned == [(schemas[1:], 0)]  # every merchant schema (not the template), once, first
    assert migrated == schemas


def test_schemas_already_current_are_not_opened(migrated):
    _setup_platform()  # everything current
    migrated.clear()

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            _setup_platform()
        return [query["sql"] for query in captured.captured_queries]

    with_few = queries()
    for number in range(3):
        provision_merchant(
            slug=f"idle-shop-{number}", name="Idle", country="DE", default_currency="EUR"
        )
    with_more = queries()

    assert migrated == []
    assert len(with_more) == len(with_few)  # nothing per merchant
    merchant_schemas = Merchant.objects.merchants().values_list("schema_name", flat=True)
    assert not [sql for sql in with_more for schema in merchant_schemas if schema in sql]


def test_parallel_processes_migrate_every_schema():
    # Worker processes see only committed data: the schemas are put behind and migrated on
    # another connection (committed), then left current again.
    schemas = _schemas()

    def all_behind() -> None:
        for schema_name in schemas:
            _put_behind(schema_name)

    def migrated_by_two_processes() -> migrating.MigrationRun:
        return migrating.schemas_migrate(schemas, processes=2, chunk_size=1)

    committed(all_behind)
    try:
        run = committed(migrated_by_two_processes)
        assert (run.total, run.done, run.failed) == (len(schemas), len(schemas), {})
        assert run.applied >= len(schemas)
        assert all(_has_new_migration(s) for s in schemas)
        digest = code_migrations_digest()
        assert set(Merchant.objects.values_list("migrations_digest", flat=True)) == {digest}
    finally:
        committed(lambda: migrating.schemas_migrate(schemas, processes=1))


def test_the_table_list_is_the_active_schemas_read_by_index(merchant_a):
    # Django lists tables on every migrate (is django_migrations there?): answering for one
    # schema must not read the catalog rows of every merchant.
    from django_tenants.utils import schema_context

    with schema_context(merchant_a.schema_name):
        with CaptureQueriesContext(connection) as captured:
            tables = set(connection.introspection.table_names())
        listing = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + listing)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    connection.set_schema_to_public()

    assert {"django_migrations", "vouchers_voucher", "checkout_payment"} <= tables
    assert "tenants_merchant" not in tables  # public's, not this schema's
    assert "Seq Scan on pg_class" not in plan and "Seq Scan on pg_depend" not in plan, plan
