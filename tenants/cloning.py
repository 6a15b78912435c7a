"""Clone the template schema into a new merchant schema, at a cost that does not grow with the
number of merchants.

django-tenants' clone (the pg-clone-schema PL/pgSQL function) reads `information_schema` views
for every table it copies; PostgreSQL cannot answer those by schema through an index, so each
read scans the whole of `pg_class` / `pg_attribute`, whose size grows with every merchant: a
clone took longer for each merchant that exists (0.7 ms more per merchant, ~72 s at 100,000),
and the library also re-created the 3,500-line function before every call (`CREATE OR REPLACE`),
recompiled in the backend each time.

This clone reads the template's catalog rows only, each through an index (objects of a schema
through pg_depend's index on the referenced namespace, then by oid or by table), and recreates
the template's exact DDL: tables with `LIKE … INCLUDING ALL` minus indexes, then the
template's own index, constraint, trigger and function definitions as PostgreSQL prints them
(`pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_triggerdef`, `pg_get_functiondef`) with the
schema name swapped, then the template's rows (its `django_migrations` and content types) and
identity sequences. Names are the template's, so no renaming afterwards. It runs in the
caller's transaction: all or nothing.

`clone_constraint_names_align` remains for schemas cloned by django-tenants' function before,
which named multi-column unique constraints after PostgreSQL's defaults; `setup_platform`
repairs them when it brings such a schema up to date.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import connection
from psycopg import sql

# The template's objects, found by namespace through pg_depend's (refclassid, refobjid) index.
_OBJECTS_SQL = """
SELECT dep.classid::regclass::text, dep.objid
  FROM pg_depend dep
 WHERE dep.refclassid = 'pg_namespace'::regclass
   AND dep.refobjid = %s::regnamespace
   AND dep.deptype = 'n'
 ORDER BY dep.objid
"""


def _template_ddl(cursor, template: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(functions, table names, indexes and constraints, triggers) of `template`, printed while
    the template alone is on the search path: its own objects come out unqualified or qualified
    by its name, anything in public qualified by `public.`."""
    cursor.execute(_OBJECTS_SQL, [template])
    objects = cursor.fetchall()
    relations = [oid for kind, oid in objects if kind == "pg_class"]
    functions = []
    for oid in (oid for kind, oid in objects if kind == "pg_proc"):
        cursor.execute("SELECT pg_get_functiondef(%s)", [oid])
        functions.append(cursor.fetchone()[0])
    cursor.execute(
        "SELECT oid, relname FROM pg_class WHERE oid = ANY(%s) AND relkind IN ('r', 'p')"
        " ORDER BY oid",
        [relations],
    )
    tables = cursor.fetchall()
    table_oids = [oid for oid, _ in tables]
    # Constraints that own an index (primary keys, unique, exclusion), then plain indexes, then
    # foreign keys (their referenced keys exist by then). Read by table (indexed), never whole.
    cursor.execute(
        """
        SELECT format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', con.conrelid::regclass,
                      con.conname, pg_get_constraintdef(con.oid)),
               CASE con.contype WHEN 'f' THEN 3 ELSE 1 END, con.oid
          FROM pg_constraint con
         WHERE con.conrelid = ANY(%s) AND con.contype IN ('p', 'u', 'x', 'f')
        UNION ALL
        SELECT pg_get_indexdef(idx.indexrelid), 2, idx.indexrelid
          FROM pg_index idx
         WHERE idx.indrelid = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                            WHERE con.conrelid = idx.indrelid AND con.conindid = idx.indexrelid)
         ORDER BY 2, 3
        """,
        [table_oids, table_oids],
    )
    after = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid = ANY(%s) AND NOT tgisinternal ORDER BY oid",
        [table_oids],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    return functions, [name for _, name in tables], after, triggers


def schema_clone(*, template: str, schema: str) -> None:
    """Copy `template` (tables, constraints, indexes, functions, triggers, rows) into the new
    `schema`, with the template's names. Runs in the caller's transaction: all or nothing."""
    try:
        with connection.cursor() as cursor:
            # Exact name, through pg_namespace's index: merchant schema names are lowercase by
            # construction (tenants.services.merchant_schema_name), so no other case can exist, and
            # django-tenants' lower(nspname) comparison would read every schema's row.
            cursor.execute(
                "SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = %s),"
                " quote_ident(%s), quote_ident(%s)",
                [schema, template, schema],
            )
            exists, template_q, schema_q = cursor.fetchone()
            if exists:
                raise ValidationError("New schema name already exists")
            cursor.execute("SELECT set_config('search_path', %s, false)", [template_q])
            functions, tables, after, triggers = _template_ddl(cursor, template)
            cursor.execute(f"CREATE SCHEMA {schema_q}")
            # Replayed with the new schema first on the search path: unqualified names land there.
            cursor.execute("SELECT set_config('search_path', %s, false)", [f"{schema_q}, public"])

            def here(statement: str) -> str:
                return statement.replace(f"{template_q}.", f"{schema_q}.")

            for statement in functions:
                cursor.execute(here(statement))
            for table in tables:
                cursor.execute(
                    sql.SQL(
                        "CREATE TABLE {new}.{table} (LIKE {template}.{table} INCLUDING DEFAULTS"
                        " INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED"
                        " INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)"
                    ).format(
                        new=sql.Identifier(schema),
                        table=sql.Identifier(table),
                        template=sql.Identifier(template),
                    )
                )
            for statement in after + triggers:
                cursor.execute(here(statement))
            _rows_copy(cursor, template=template, schema=schema)
    finally:
        # django-tenants owns the connection's search_path: it sets it again on the next query.
        connection.set_schema_to_public()


def _rows_copy(cursor, *, template: str, schema: str) -> None:
    """The template's rows (django_migrations, content types), and each identity sequence moved
    past them."""
    cursor.execute(
        """
        SELECT rel.relname,
               (SELECT att.attname FROM pg_attribute att
                 WHERE att.attrelid = rel.oid AND att.attidentity <> '' AND att.attnum > 0
                 LIMIT 1)
          FROM pg_depend dep
          JOIN pg_class rel ON rel.oid = dep.objid AND rel.relkind = 'r'
         WHERE dep.refclassid = 'pg_namespace'::regclass
           AND dep.refobjid = %s::regnamespace AND dep.classid = 'pg_class'::regclass
        """,
        [template],
    )
    for table, identity_column in cursor.fetchall():
        source = sql.SQL("{}.{}").format(sql.Identifier(template), sql.Identifier(table))
        target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        cursor.execute(
            sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}").format(
                target, source
            )
        )
        if identity_column and cursor.rowcount:
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), max({column})) FROM {target}"
                ).format(column=sql.Identifier(identity_column), target=target),
                [target.as_string(cursor.connection), identity_column],
            )


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
