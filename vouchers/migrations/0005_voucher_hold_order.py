# A hold records the order its holder pays, so paying the order releases the other holders.
# Expand only: the column has a database default, so code one release behind still inserts holds.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vouchers", "0004_voucher_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="voucherhold",
            name="order_id",
            field=models.CharField(blank=True, db_default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="voucherhold",
            index=models.Index(fields=["order_id"], name="voucher_hold_order_idx"),
        ),
    ]
