from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_clone_schema_function"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchant",
            name="migrations_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
    ]
