from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_staff_users_audit"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchant",
            name="migrations_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
    ]
