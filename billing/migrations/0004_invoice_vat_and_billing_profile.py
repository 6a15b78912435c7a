import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# The finalized-invoice guard also covers what the invoice says about VAT and its customer.
GUARD = """
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
       NEW.billed_country, NEW.finalized_at, NEW.billed_address, NEW.billed_vat_id,
       NEW.tax_treatment, NEW.tax_rate_bps, NEW.tax_amount, NEW.amount_due, NEW.tax_note
     ) IS DISTINCT FROM (
       OLD.merchant_id, OLD.currency, OLD.period_start, OLD.period_end, OLD.number,
       OLD.subtotal, OLD.credits, OLD.total, OLD.entry_count, OLD.billed_name,
       OLD.billed_country, OLD.finalized_at, OLD.billed_address, OLD.billed_vat_id,
       OLD.tax_treatment, OLD.tax_rate_bps, OLD.tax_amount, OLD.amount_due, OLD.tax_note
     ) THEN
    RAISE EXCEPTION 'invoice % is finalized and immutable', OLD.number;
  END IF;
  IF OLD.status <> 'draft' AND NEW.status = 'draft' THEN
    RAISE EXCEPTION 'invoice % cannot go back to draft', OLD.number;
  END IF;
  RETURN NEW;
END $$;
"""

GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

# Invoices finalized before VAT was computed: amount_due is their net total, no VAT recorded.
BACKFILL = "UPDATE billing_invoice SET amount_due = total WHERE amount_due <> total"


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_plan_permissions_for_staff"),
        ("tenants", "0007_audit_payment_refunded"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="billed_address",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="invoice",
            name="billed_vat_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=24),
        ),
        migrations.AddField(
            model_name="invoice",
            name="tax_treatment",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                choices=[
                    ("domestic", "Domestic VAT"),
                    ("standard", "VAT (customer's VAT ID missing)"),
                    ("reverse_charge", "Reverse charge"),
                    ("outside_scope", "Outside the scope of VAT"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="tax_rate_bps",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="invoice",
            name="tax_amount",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_due",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="invoice",
            name="tax_note",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
        # Before the guard covers amount_due, so finalized invoices may take it.
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(amount_due=models.F("total") + models.F("tax_amount")),
                name="invoice_amount_due_is_sum",
            ),
        ),
        migrations.RunSQL(GUARD, GUARD_BEFORE),
        migrations.CreateModel(
            name="BillingProfile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("legal_name", models.CharField(blank=True, max_length=120)),
                ("address", models.TextField(blank=True, max_length=500)),
                (
                    "vat_id",
                    models.CharField(blank=True, help_text="compact, validated", max_length=24),
                ),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "merchant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="billing_profile",
                        to="tenants.merchant",
                    ),
                ),
            ],
        ),
    ]
