"""django-tenants' PostgreSQL backend, with the table list read for the active schema only.

Django lists tables (`MigrationRecorder.has_table`, `migrate`'s checks) with a query over every
row of `pg_class` filtered by `pg_table_is_visible`; with a schema per merchant, `pg_class` holds
~90 rows per merchant, so each listing cost more for every merchant that exists (one listing
of a merchant schema, `bench/tenancy.py`: 17 ms at 101 merchants, 207 ms at 2,001). Here the
schema's relations are found through pg_depend's index on the referenced namespace, then by
oid (0.5 to 1.6 ms at both; `tests/superpayment/test_postgresql_backend.py` checks it answers as
the stock query does).
"""

from __future__ import annotations

from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection

_SCHEMA_TABLES_SQL = """
SELECT c.relname,
       CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END,
       obj_description(c.oid, 'pg_class')
  FROM pg_depend d
  JOIN pg_class c ON c.oid = d.objid
 WHERE d.refclassid = 'pg_namespace'::regclass
   AND d.refobjid = to_regnamespace(%s)
   AND d.classid = 'pg_class'::regclass
   AND d.deptype = 'n'
   AND c.relkind IN ('f', 'm', 'p', 'r', 'v')
"""


class SchemaScopedIntrospection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor):
        """The tables and views of the active schema (what django-tenants' search path limits
        Django's query to), read by index."""
        cursor.execute(_SCHEMA_TABLES_SQL, [self.connection.schema_name])
        return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.introspection = SchemaScopedIntrospection(self)
