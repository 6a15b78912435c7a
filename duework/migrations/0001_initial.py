from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DueWork",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("schema_name", models.CharField(max_length=63)),
                ("kind", models.CharField(max_length=32)),
                ("due_at", models.DateTimeField()),
                ("leased_until", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "duework_due",
                "indexes": [models.Index(fields=["due_at"], name="duework_due_at_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("schema_name", "kind"), name="duework_due_unique"
                    )
                ],
            },
        ),
    ]
