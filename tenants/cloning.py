"""Clone the template schema into a new merchant schema, at a cost that does not grow with the
number of merchants.

The clone itself is django-tenants' `clone_schema` PL/pgSQL function (pg-clone-schema). The
library re-creates that ~3,500-line function before every clone (`CREATE OR REPLACE`), which
recompiles it in the backend each time (memory that a long-lived connection never gets back)
and rewrites catalog rows under a lock. Here it is installed once, by migration
`tenants.0008_clone_schema_function`, and re-installed by `setup_platform` only when the
installed copy differs from the text of the django-tenants version in use
(`clone_function_ensure`), so it stays in step with library upgrades.

django-tenants' clone rebuilds multi-column unique constraints under PostgreSQL's default names
(`checkout_payment_livemode_order_id_key` instead of the model's `payment_order_once`). Code that
names a constraint (mapping an IntegrityError to its meaning) and later migrations that alter
or drop one by name need the model's name in every schema, so each clone is renamed after the
copy. Every catalog query here reads the template's and the named schemas' rows only (by
namespace oid, through the catalogs' namespace indexes), never the whole database's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.clone import CLONE_SCHEMA_FUNCTION
from psycopg import sql


def clone_function_sql() -> str:
    """The DDL that installs `public.clone_schema` and its helpers, as the installed
    django-tenants ships it."""
    db_user = settings.DATABASES["default"].get("USER") or "postgres"
    return CLONE_SCHEMA_FUNCTION.format(db_user=db_user)


def clone_function_body_digest() -> str:
    """MD5 of the body of `clone_schema` in the installed django-tenants (what PostgreSQL keeps
    as the function's `prosrc`)."""
    body = clone_function_sql().split("$BODY$")[1]
    return hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - a fingerprint, not security


def clone_function_install(cursor) -> None:
    cursor.execute(clone_function_sql())


def clone_function_installed_digest(cursor) -> str | None:
    cursor.execute(
        "SELECT md5(prosrc) FROM pg_proc"
        " WHERE proname = 'clone_schema' AND pronamespace = 'public'::regnamespace"
    )
    row = cursor.fetchone()
    return row[0] if row else None


def clone_function_ensure() -> bool:
    """Install `clone_schema` if it is missing or not the installed django-tenants' version;
    True when it was (re)installed. One catalog lookup when it is current."""
    from tenants.services import PROVISION_LOCK_KEY  # a re-install never races a clone

    with connection.cursor() as cursor:
        if clone_function_installed_digest(cursor) == clone_function_body_digest():
            return False
        cursor.execute("SELECT pg_advisory_lock(%s)", [PROVISION_LOCK_KEY])
        try:
            clone_function_install(cursor)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PROVISION_LOCK_KEY])
    return True


def schema_clone(*, template: str, schema: str) -> None:
    """Copy `template` (tables, constraints, indexes, sequences, rows) into the new `schema`,
    with the template's constraint names. Runs in the caller's transaction: all or nothing."""
    with connection.cursor() as cursor:
        # Exact name, through pg_namespace's index: merchant schema names are lowercase by
        # construction (tenants.services.merchant_schema_name), so no other case can exist, and
        # django-tenants' lower(nspname) comparison would read every schema's row.
        cursor.execute("SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = %s)", [schema])
        if cursor.fetchone()[0]:
            raise ValidationError("New schema name already exists")
        cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, schema])
    clone_constraint_names_align(template=template, schemas=[schema])


# Same table, same kind, same columns (by name: a clone has no dropped columns, so its column
# numbers can differ), another name: the template's name is the right one. The tables of the
# template and of the named schemas are found through pg_depend's index on the referenced
# namespace, their constraints through pg_constraint's index on the table: no catalog is scanned
# whole (pg_class and pg_constraint have no index led by the namespace), so the cost is the same
# at 100 and at 100,000 merchants.
_MISNAMED_SQL = """
WITH target AS (
  SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY(%(schemas)s)
   UNION ALL
  SELECT oid, nspname FROM pg_namespace WHERE nspname = %(template)s
), unique_constraint AS (
  SELECT target.oid AS connamespace, con.conname, rel.relname,
         (SELECT array_agg(att.attname ORDER BY key.position)
            FROM unnest(con.conkey) WITH ORDINALITY AS key (attnum, position)
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = key.attnum
         ) AS columns
    FROM target
    JOIN pg_depend dep ON dep.refclassid = 'pg_namespace'::regclass
                      AND dep.refobjid = target.oid
                      AND dep.classid = 'pg_class'::regclass
    JOIN pg_class rel ON rel.oid = dep.objid AND rel.relkind = 'r'
    JOIN pg_constraint con ON con.conrelid = rel.oid AND con.contype = 'u'
)
SELECT target.nspname, clone.relname, clone.conname, template.conname
  FROM unique_constraint template
  JOIN unique_constraint clone ON clone.relname = template.relname
                              AND clone.columns = template.columns
                              AND clone.connamespace <> template.connamespace
  JOIN target ON target.oid = clone.connamespace
 WHERE template.connamespace = %(template)s::regnamespace
   AND clone.conname <> template.conname
 ORDER BY 1, 2, 3
"""


def clone_constraint_names_align(*, template: str, schemas: Sequence[str]) -> int:
    """Rename the unique constraints (and their indexes) of `schemas` that a clone named
    differently from `template`. Returns how many were renamed; 0 when all agree."""
    if not schemas:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MISNAMED_SQL, {"template": template, "schemas": list(schemas)})
        renames = cursor.fetchall()
        for schema, table, wrong, right in renames:
            cursor.execute(
                sql.SQL("ALTER TABLE {}.{} RENAME CONSTRAINT {} TO {}").format(
                    sql.Identifier(schema),
                    sql.Identifier(table),
                    sql.Identifier(wrong),
                    sql.Identifier(right),
                )
            )
    return len(renames)
