"""Reporting reads go to a real second database; writes, and reads elsewhere, to the primary.

The replica here is a second database on the test PostgreSQL server, created for the test, with
the same table holding different rows, so every read shows which database answered.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, router
from django.test.utils import isolate_apps
from psycopg import sql

from superpayment.db_router import REPLICA_ALIAS, ReplicaRouter, reporting_reads
from tenants.models import Merchant
from tests.conftest import MERCHANT_A
from tests.processes import ROOT

TABLE = "replica_probe"


def _server(dbname: str) -> psycopg.Connection:
    settings_dict = connection.settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        dbname=dbname,
        autocommit=True,
    )


@pytest.fixture
def probe_model():
    with isolate_apps("vouchers"):

        class ReplicaProbe(models.Model):
            label = models.TextField()

            class Meta:
                app_label = "vouchers"
                db_table = TABLE

            def __str__(self) -> str:
                return self.label

        yield ReplicaProbe


def _create(name: str, schema: str) -> None:
    """A second database on the same server; its probe rows differ from the primary's."""
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with _server(connection.settings_dict["NAME"]) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _server(name) as replica_db:
        for where, label in [(schema, "replica-tenant"), ("public", "replica-public")]:
            create = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(where))
            replica_db.execute(create)
            table = sql.Identifier(where, TABLE)
            replica_db.execute(
                sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, label text)").format(table)
            )
            replica_db.execute(sql.SQL("INSERT INTO {} VALUES (1, %s)").format(table), [label])


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A real second database as the `replica` alias, for this module's tests; dropped after.

    Module-scoped so the alias exists before pytest-django sets up each test's TestCase, which
    then accepts queries to it (`django_db(databases=[..., "replica"])`).
    """
    with django_db_blocker.unblock():
        schema = Merchant.objects.get(slug=MERCHANT_A["slug"]).schema_name
        name = f"{connection.settings_dict['NAME']}_replica"
        _create(name, schema)
        alias_settings = copy.deepcopy(connections.settings[DEFAULT_DB_ALIAS])
        alias_settings.pop("SCHEMA", None)
        alias_settings["NAME"] = name
        connections.settings[REPLICA_ALIAS] = alias_settings
    try:
        yield name
    finally:
        with django_db_blocker.unblock():
            connections[REPLICA_ALIAS].close()
            del connections[REPLICA_ALIAS]
            del connections.settings[REPLICA_ALIAS]
            drop = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            with _server(connection.settings_dict["NAME"]) as admin:
                admin.execute(drop)


@pytest.fixture
def primary_rows(in_merchant_a):
    """The same table in merchant A's schema on the primary (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, label text)")
        cursor.execute(f"INSERT INTO {TABLE} (label) VALUES (%s)", ["primary-tenant"])  # noqa: S608


def _labels(model) -> list[str]:
    return list(model.objects.order_by("id").values_list("label", flat=True))


def _replica_labels(name: str, schema: str) -> list[str]:
    with _server(name) as replica_db:
        table = sql.Identifier(schema, TABLE)
        rows = replica_db.execute(sql.SQL("SELECT label FROM {} ORDER BY id").format(table))
        return [row[0] for row in rows]


@pytest.mark.django_db(databases=["default", REPLICA_ALIAS])
def test_reporting_reads_use_the_replica_in_the_same_tenant_schema(
    replica, primary_rows, probe_model, in_merchant_a
):
    assert _labels(probe_model) == ["primary-tenant"]
    with reporting_reads() as alias:
        assert alias == REPLICA_ALIAS
        assert _labels(probe_model) == ["replica-tenant"]  # not replica-public: schema followed
        assert connections[REPLICA_ALIAS].schema_name == in_merchant_a.schema_name
    assert _labels(probe_model) == ["primary-tenant"]
    assert connections[REPLICA_ALIAS].schema_name == "public"  # restored on the way out


@pytest.mark.django_db(databases=["default", REPLICA_ALIAS])
def test_writes_inside_reporting_reads_go_to_the_primary(
    replica, primary_rows, probe_model, in_merchant_a
):
    with reporting_reads():
        probe_model.objects.create(label="written-inside")
        row = probe_model.objects.get(id=1)  # read from the replica ...
        assert row.label == "replica-tenant"
        row.label = "saved-inside"
        row.save()  # ... saved to the primary
        assert _labels(probe_model) == ["replica-tenant"]
    assert _labels(probe_model) == ["saved-inside", "written-inside"]
    assert _replica_labels(replica, in_merchant_a.schema_name) == ["replica-tenant"]


@pytest.mark.django_db
def test_without_a_replica_reporting_reads_use_the_primary(primary_rows, probe_model, monkeypatch):
    # The module's replica may exist already; this test runs as if none were configured.
    monkeypatch.delitem(connections.settings, REPLICA_ALIAS, raising=False)
    with reporting_reads() as alias:
        assert alias == DEFAULT_DB_ALIAS
        assert _labels(probe_model) == ["primary-tenant"]
        probe_model.objects.create(label="written-inside")
    assert _labels(probe_model) == ["primary-tenant", "written-inside"]


def test_the_replica_is_never_migrated_and_tenant_sync_routing_still_decides():
    assert ReplicaRouter().allow_migrate(REPLICA_ALIAS, "vouchers") is False
    assert router.allow_migrate(REPLICA_ALIAS, "vouchers") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "vouchers") is None
    # In the public schema TenantSyncRouter refuses tenant apps and allows shared ones.
    connection.set_schema_to_public()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "vouchers") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "tenants") is True
    assert [type(r).__name__ for r in router.routers] == ["TenantSyncRouter", "ReplicaRouter"]


SHOW_DATABASES = (
    "import django; django.setup(); from django.conf import settings as s; "
    "r = s.DATABASES.get('replica'); "
    "print(sorted(s.DATABASES), r and r['ENGINE'], r and r['HOST'], r and r['NAME'], "
    "r and r['OPTIONS'].get('sslmode'), r and r['TEST']['MIRROR'])"
)


@pytest.mark.parametrize(
    ("replica_url", "expected"),
    [
        (None, "['default'] None None None None None"),
        (
            "postgresql://reader:pw@replica.internal:5432/superpayment?sslmode=verify-full",
            "['default', 'replica'] superpayment.postgresql_backend replica.internal "
            "superpayment verify-full default",
        ),
    ],
)
def test_replica_database_url_defines_the_replica_alias(replica_url, expected, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REPLICA_DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="superpayment.settings", SUPERPAYMENT_VAR_DIR=str(tmp_path))
    if replica_url:
        env["REPLICA_DATABASE_URL"] = replica_url
    result = subprocess.run(
        [sys.executable, "-c", SHOW_DATABASES],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
