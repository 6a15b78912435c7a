"""The ledger is append-only in the database too: a trigger refuses UPDATE and DELETE.

Runs in every merchant schema (unqualified names land in the schema being migrated); the
template schema's clone copies both the function and the trigger to new merchants.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION vouchers_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'voucher ledger entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER vouchers_ledger_append_only
    BEFORE UPDATE OR DELETE ON vouchers_voucherledgerentry
    FOR EACH ROW EXECUTE FUNCTION vouchers_ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS vouchers_ledger_append_only ON vouchers_voucherledgerentry;
DROP FUNCTION IF EXISTS vouchers_ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
