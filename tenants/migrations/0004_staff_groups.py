"""Staff groups: "platform admin" runs the admin console, "finance" the billing console."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "platform admin": [
        ("tenants", "view_merchant"),
        ("tenants", "change_merchant"),
        ("tenants", "view_domain"),
        ("tenants", "view_membership"),
        ("tenants", "view_apikey"),
        ("tenants", "view_auditlog"),
        ("tenants", "view_user"),
    ],
    "finance": [
        ("tenants", "view_merchant"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations ran; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_audit_account_actions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
