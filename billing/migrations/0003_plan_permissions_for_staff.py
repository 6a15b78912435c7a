"""Platform admins manage commission plans; finance staff read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "platform admin": ["view_commissionplan", "add_commissionplan", "change_commissionplan"],
    "finance": ["view_commissionplan"],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_default_plan_and_guards"),
        ("tenants", "0004_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
