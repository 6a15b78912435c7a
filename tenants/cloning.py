"""Keep cloned merchant schemas' constraint names equal to the template's.

django-tenants' clone rebuilds multi-column unique constraints under PostgreSQL's default names
(`checkout_payment_livemode_order_id_key` instead of the model's `payment_order_once`). Code that
names a constraint (mapping an IntegrityError to its meaning) and later migrations that alter
or drop one by name need the model's name in every schema, so each clone is renamed after the
copy, and `setup_platform` repairs schemas cloned before this existed (one catalog query).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from psycopg import sql

# Same table, same kind, same columns (by name: a clone has no dropped columns, so its column
# numbers can differ), another name: the template's name is the right one.
_MISNAMED_SQL = """
WITH unique_constraint AS (
  SELECT con.connamespace, con.conname, con.contype, rel.relname,
         (SELECT array_agg(att.attname ORDER BY key.position)
            FROM unnest(con.conkey) WITH ORDINALITY AS key (attnum, position)
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = key.attnum
         ) AS columns
    FROM pg_constraint con
    JOIN pg_class rel ON rel.oid = con.conrelid
   WHERE con.contype = 'u'
)
SELECT clone_ns.nspname, clone.relname, clone.conname, template.conname
  FROM unique_constraint template
  JOIN unique_constraint clone ON clone.relname = template.relname
                              AND clone.columns = template.columns
                              AND clone.connamespace <> template.connamespace
  JOIN pg_namespace clone_ns ON clone_ns.oid = clone.connamespace
 WHERE template.connamespace = %s::regnamespace
   AND clone_ns.nspname = ANY(%s)
   AND clone.conname <> template.conname
 ORDER BY 1, 2, 3
"""


def clone_constraint_names_align(*, template: str, schemas: Sequence[str]) -> int:
    """Rename the unique constraints (and their indexes) of `schemas` that a clone named
    differently from `template`. Returns how many were renamed; 0 when all agree."""
    if not schemas:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MISNAMED_SQL, [template, list(schemas)])
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
