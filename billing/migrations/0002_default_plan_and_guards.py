"""The default commission plan, and database guards that keep finalized invoices immutable."""

from datetime import UTC, datetime

from django.db import migrations

# Default plan: 1.50 % + a fixed fee near EUR 0.20 in each major currency (minor units).
DEFAULT_BPS = 150
DEFAULT_FIXED_FEES = {
    "EUR": 20,
    "USD": 20,
    "GBP": 20,
    "CHF": 20,
    "CAD": 30,
    "AUD": 30,
    "NZD": 35,
    "SEK": 200,
    "NOK": 200,
    "DKK": 150,
    "PLN": 100,
    "CZK": 500,
    "HUF": 8000,
    "JPY": 30,
}
EFFECTIVE_FROM = datetime(2020, 1, 1, tzinfo=UTC)


def seed(apps, schema_editor):
    plan = apps.get_model("billing", "CommissionPlan")
    rows = [
        plan(
            name="Standard",
            currency=code,
            bps=DEFAULT_BPS,
            fixed_fee=fee,
            effective_from=EFFECTIVE_FROM,
        )
        for code, fee in DEFAULT_FIXED_FEES.items()
    ]
    # Any other currency: the same percentage, no fixed fee.
    rows.append(
        plan(
            name="Standard",
            currency="",
            bps=DEFAULT_BPS,
            fixed_fee=0,
            effective_from=EFFECTIVE_FROM,
        )
    )
    plan.objects.bulk_create(rows)


def unseed(apps, schema_editor):
    apps.get_model("billing", "CommissionPlan").objects.filter(
        merchant__isnull=True, effective_from=EFFECTIVE_FROM
    ).delete()


GUARDS = """
CREATE FUNCTION billing_invoice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is finalized and cannot be deleted', OLD.number;
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'draft' AND (
       NEW.merchant_id, NEW.currency, NEW.period_start, NEW.period_end, NEW.number,
       NEW.subtotal, NEW.credits, NEW.total, NEW.entry_count, NEW.billed_name,
       NEW.billed_country, NEW.finalized_at
     ) IS DISTINCT FROM (
       OLD.merchant_id, OLD.currency, OLD.period_start, OLD.period_end, OLD.number,
       OLD.subtotal, OLD.credits, OLD.total, OLD.entry_count, OLD.billed_name,
       OLD.billed_country, OLD.finalized_at
     ) THEN
    RAISE EXCEPTION 'invoice % is finalized and immutable', OLD.number;
  END IF;
  IF OLD.status <> 'draft' AND NEW.status = 'draft' THEN
    RAISE EXCEPTION 'invoice % cannot go back to draft', OLD.number;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER billing_invoice_guard BEFORE UPDATE OR DELETE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE FUNCTION billing_invoiceline_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target bigint := CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
BEGIN
  IF EXISTS (SELECT 1 FROM billing_invoice WHERE id = target AND status <> 'draft') THEN
    RAISE EXCEPTION 'lines of finalized invoice % are immutable', target;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER billing_invoiceline_guard BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
  FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_guard();

CREATE FUNCTION billing_commissionentry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'commission entries are append-only';
  END IF;
  IF (NEW.merchant_id, NEW.kind, NEW.payment_id, NEW.refund_id, NEW.currency, NEW.livemode,
      NEW.occurred_at, NEW.base_amount, NEW.amount, NEW.bps, NEW.fixed_fee, NEW.plan_name)
     IS DISTINCT FROM
     (OLD.merchant_id, OLD.kind, OLD.payment_id, OLD.refund_id, OLD.currency, OLD.livemode,
      OLD.occurred_at, OLD.base_amount, OLD.amount, OLD.bps, OLD.fixed_fee, OLD.plan_name) THEN
    RAISE EXCEPTION 'commission entries are append-only';
  END IF;
  IF OLD.invoice_id IS DISTINCT FROM NEW.invoice_id AND OLD.invoice_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM billing_invoice WHERE id = OLD.invoice_id AND status <> 'draft')
  THEN
    RAISE EXCEPTION 'entry % is on a finalized invoice', OLD.id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER billing_commissionentry_guard BEFORE UPDATE OR DELETE ON billing_commissionentry
  FOR EACH ROW EXECUTE FUNCTION billing_commissionentry_guard();
"""

UNGUARDS = """
DROP TRIGGER IF EXISTS billing_commissionentry_guard ON billing_commissionentry;
DROP FUNCTION IF EXISTS billing_commissionentry_guard();
DROP TRIGGER IF EXISTS billing_invoiceline_guard ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunSQL(GUARDS, UNGUARDS),
    ]
