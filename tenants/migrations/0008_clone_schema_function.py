"""Install django-tenants' `clone_schema` function once, instead of before every clone.

`setup_platform` re-installs it when a django-tenants upgrade changes its text
(`tenants.cloning.clone_function_ensure`)."""

from django.db import migrations


def install(apps, schema_editor):
    from tenants.cloning import clone_function_install

    with schema_editor.connection.cursor() as cursor:
        clone_function_install(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0007_audit_payment_refunded"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False),
    ]
