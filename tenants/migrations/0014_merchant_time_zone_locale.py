from django.db import migrations, models


class Migration(migrations.Migration):
    """Two columns with a constant default on the public merchants table: no rewrite, no
    per-merchant work (empty means the country's zone and locale)."""

    dependencies = [
        ("tenants", "0012_merchant_pay_buttons"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchant",
            name="time_zone",
            field=models.CharField(blank=True, default="", help_text="IANA zone", max_length=64),
        ),
        migrations.AddField(
            model_name="merchant",
            name="locale",
            field=models.CharField(blank=True, default="", help_text="CLDR locale", max_length=16),
        ),
    ]
