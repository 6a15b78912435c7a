from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, schema_exists

from tenants.errors import TenantError, TenantErrorCode
from tenants.models import Domain, Merchant
from tenants.services import merchant_schema_name, provision_merchant
from tests.helpers import committed
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db

NEW_SHOP = {
    "slug": "corner-bakery",
    "name": "Corner Bakery",
    "country": "NL",
    "default_currency": "EUR",
}


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_provisioning_clones_the_template_into_a_new_schema():
    result = provision_merchant(**NEW_SHOP)

    assert result.created is True
    merchant = result.merchant
    assert merchant.schema_name == "m_corner_bakery"
    assert schema_exists("m_corner_bakery")
    assert Domain.objects.get(tenant=merchant).domain.startswith("corner-bakery.")
    with schema_context(merchant.schema_name):
        assert Voucher.objects.count() == 0
        # The clone keeps the template's CHECK constraints, not only its tables.
        with pytest.raises(IntegrityError), transaction.atomic():
            Voucher.objects.create(code="NEG", currency="EUR", initial_amount=1, balance=-1)


def test_provisioning_is_idempotent_on_the_slug():
    first = provision_merchant(**NEW_SHOP)
    again = provision_merchant(**{**NEW_SHOP, "slug": "  Corner-Bakery "})

    assert again.created is False
    assert again.merchant.pk == first.merchant.pk
    assert Merchant.objects.filter(slug="corner-bakery").count() == 1


def test_a_taken_slug_with_other_details_is_refused():
    provision_merchant(**NEW_SHOP)
    with pytest.raises(TenantError) as caught:
        provision_merchant(**{**NEW_SHOP, "name": "Someone Else"})
    assert caught.value.code == TenantErrorCode.SLUG_TAKEN
    assert caught.value.param == "slug"


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("public", TenantErrorCode.SLUG_RESERVED),
        ("www", TenantErrorCode.SLUG_RESERVED),
        ("admin", TenantErrorCode.SLUG_RESERVED),
        ("api", TenantErrorCode.SLUG_RESERVED),
        ("static", TenantErrorCode.SLUG_RESERVED),
        ("template", TenantErrorCode.SLUG_RESERVED),
        ("ab", TenantErrorCode.SLUG_INVALID),
        ("a" * 41, TenantErrorCode.SLUG_INVALID),
        ("corner_bakery", TenantErrorCode.SLUG_INVALID),
        ("corner bakery", TenantErrorCode.SLUG_INVALID),
        ("1bakery", TenantErrorCode.SLUG_INVALID),
        ("bakery-", TenantErrorCode.SLUG_INVALID),
        ("bak--ery", TenantErrorCode.SLUG_INVALID),
        ("bäckerei", TenantErrorCode.SLUG_INVALID),
        ("pg-temp'; drop", TenantErrorCode.SLUG_INVALID),
        ("", TenantErrorCode.SLUG_INVALID),
    ],
)
def test_bad_slugs_are_refused_with_a_clear_error_and_create_nothing(slug, code):
    merchants_before, schemas_before = Merchant.objects.count(), _schemas()

    with pytest.raises(TenantError) as caught:
        provision_merchant(**{**NEW_SHOP, "slug": slug})

    assert caught.value.code == code
    assert caught.value.param == "slug"
    assert caught.value.message
    assert Merchant.objects.count() == merchants_before
    assert _schemas() == schemas_before


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("country", "XX", TenantErrorCode.COUNTRY_INVALID),
        ("country", "DEU", TenantErrorCode.COUNTRY_INVALID),
        ("default_currency", "EURO", TenantErrorCode.CURRENCY_INVALID),
        ("default_currency", "XYZ", TenantErrorCode.CURRENCY_INVALID),
        ("name", " ", TenantErrorCode.NAME_INVALID),
    ],
)
def test_bad_details_are_refused_and_create_nothing(field, value, code):
    schemas_before = _schemas()
    with pytest.raises(TenantError) as caught:
        provision_merchant(**{**NEW_SHOP, field: value})
    assert caught.value.code == code
    assert caught.value.param == field
    assert not Merchant.objects.filter(slug=NEW_SHOP["slug"]).exists()
    assert _schemas() == schemas_before


def test_a_failure_after_the_clone_leaves_no_schema_behind(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Domain.objects, "create", fail)
    with pytest.raises(RuntimeError):
        provision_merchant(**NEW_SHOP)
    assert not Merchant.objects.filter(slug="corner-bakery").exists()
    assert not schema_exists(merchant_schema_name("corner-bakery"))


def test_slug_to_schema_is_one_to_one():
    assert merchant_schema_name("corner-bakery") == "m_corner_bakery"
    assert merchant_schema_name("corner-bakery") != merchant_schema_name("cornerbakery")


def _constraint_and_index_names(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE connamespace = %s::regnamespace"
            " UNION SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s",
            [schema, schema],
        )
        return {(table.split(".")[-1], name) for table, name in cursor.fetchall()}


def test_a_clone_has_the_template_constraint_and_index_names(merchant_a, settings):
    # Migrations and error handling name constraints (payment_order_once, voucher_hold_unique):
    # every merchant schema must carry the models' names, not the clone's defaults.
    template = _constraint_and_index_names(settings.TENANT_BASE_SCHEMA)
    assert ("checkout_payment", "payment_order_once") in template
    assert _constraint_and_index_names(merchant_a.schema_name) == template


def test_setup_repairs_a_schema_whose_constraint_was_misnamed(merchant_a, settings):
    # A schema cloned before the alignment existed: setup_platform renames it when it brings
    # the schema up to date.
    from django.core.management import call_command

    with connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE "{merchant_a.schema_name}".vouchers_voucherhold'
            " RENAME CONSTRAINT voucher_hold_unique TO vouchers_voucherhold_voucher_id_holder_key"
        )
    Merchant.objects.filter(pk=merchant_a.pk).update(migrations_digest="")
    call_command("setup_platform", processes=1, verbosity=0)
    template = _constraint_and_index_names(settings.TENANT_BASE_SCHEMA)
    assert _constraint_and_index_names(merchant_a.schema_name) == template


# Catalogs whose size grows with every merchant schema (a few rows per table of each schema).
_GROWING_CATALOGS = ("pg_class", "pg_constraint", "pg_attribute", "pg_depend", "pg_index")


def _seq_scanned_catalogs(statement: str) -> set[str]:
    """Catalogs a statement must read whole: its plan with sequential scans priced out."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return set(re.findall(r"Seq Scan on (pg_\w+)", plan)) & {*_GROWING_CATALOGS, "pg_namespace"}


def test_provisioning_installs_no_function_and_reads_only_the_new_schemas_catalog():
    # At 100,000 merchants, provisioning must cost what it costs at 100: nothing re-created in
    # public per call (django-tenants re-created its clone function), no catalog read whole.
    with CaptureQueriesContext(connection) as captured:
        provision_merchant(**NEW_SHOP)
    statements = [query["sql"] for query in captured.captured_queries]

    functions_created = re.findall(
        r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.]+)", " ".join(statements), re.I
    )
    # Only the template's own trigger function, created in the new schema (under a name no
    # other schema has, then given the template's).
    assert [name.split(".")[0] for name in functions_created] == ["m_corner_bakery"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgfoid::regprocedure::text FROM pg_trigger"
            " WHERE tgrelid = 'm_corner_bakery.vouchers_voucherledgerentry'::regclass"
            " AND NOT tgisinternal"
        )
        assert cursor.fetchall() == [("m_corner_bakery.vouchers_ledger_refuse_change()",)]
    assert any(s.startswith("CREATE SCHEMA") for s in statements)
    catalog_reads = [
        s
        for s in statements
        if s.lstrip().upper().startswith(("SELECT", "WITH"))
        if any(catalog in s for catalog in (*_GROWING_CATALOGS, "pg_namespace"))
    ]
    assert len(catalog_reads) >= 3  # the template's, the new schema's existence, its definitions
    for statement in catalog_reads:
        assert _seq_scanned_catalogs(statement) == set(), statement


def _backend_memory() -> int:
    """Bytes of every memory context of the backend behind Django's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize("outer_transaction", [False, True], ids=["alone", "in-signup"])
def test_provisioning_on_one_connection_leaves_its_backend_no_bigger(outer_transaction):
    # A backend keeps the catalog entries of every relation it created (40-180 KB per schema)
    # for as long as it lives: a process provisioning on one connection grew with each merchant.
    slugs = [f"growth-shop-{number}" for number in range(6)]

    def provision(slug: str) -> None:
        if outer_transaction:  # as the signup's business_create does
            with transaction.atomic():
                provision_merchant(slug=slug, name="Growth", country="DE", default_currency="EUR")
                Merchant.objects.filter(slug=slug).update(name="Growth Shop")
        else:
            provision_merchant(slug=slug, name="Growth", country="DE", default_currency="EUR")

    def memory_after_each() -> list[int]:
        sizes = []
        for slug in slugs:
            provision(slug)
            sizes.append(_backend_memory())
        return sizes

    def drop() -> None:
        for merchant in Merchant.objects.filter(slug__in=slugs):
            merchant.delete(force_drop=True)

    try:
        sizes = committed(memory_after_each)
    finally:
        committed(drop)
    # Five more clones on the same connection: before, +200 to +260 KB; now the backend's size
    # is what a fresh one has, to the byte.
    assert sizes[-1] - sizes[0] < 64 * 1024, sizes


def _function_name_reads() -> int:
    """Rows this backend has read so far from pg_proc's (name, arguments, schema) index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_returned(%s::regclass)"
            " + pg_stat_get_xact_tuples_fetched(%s::regclass)",
            ["pg_proc_proname_args_nsp_index"] * 2,
        )
        return cursor.fetchone()[0]


def _provision_reading_function_names(slug: str) -> int:
    before = _function_name_reads()
    provision_merchant(slug=slug, name="Twin", country="DE", default_currency="EUR")
    return _function_name_reads() - before


def test_provisioning_reads_no_function_of_other_merchant_schemas():
    # Every merchant schema has the template's trigger function, under the same name; naming it
    # in DDL (or printing a trigger that calls it) made PostgreSQL read every function of that
    # name: one row per merchant for each provisioning.
    _provision_reading_function_names("twin-warm")  # prints the template's triggers once
    with_few = _provision_reading_function_names("twin-one")
    with connection.cursor() as cursor:
        for number in range(40):  # 40 more schemas with a function of that name
            cursor.execute(
                f"CREATE SCHEMA twin_{number};"
                f" CREATE FUNCTION twin_{number}.vouchers_ledger_refuse_change() RETURNS trigger"
                " LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$"
            )

    with_more = _provision_reading_function_names("twin-two")

    assert with_more - with_few < 40  # not one row per schema (172 more before)
