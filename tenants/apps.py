from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Merchants"

    def ready(self) -> None:
        from tenants import signals  # noqa: F401 - connects the account audit receivers

        _scope_tenant_delete_callback()


def _scope_tenant_delete_callback() -> None:
    """django-tenants listens to post_delete of every model (to drop a deleted tenant's schema),
    and any listener makes Django load each row before deleting it: a SELECT before every
    DELETE, on hot paths too (a payment drops its holds). Listen to merchants only."""
    from django.db.models.signals import post_delete
    from django_tenants.signals import tenant_delete_callback

    from tenants.models import Merchant

    post_delete.disconnect(tenant_delete_callback)
    post_delete.connect(tenant_delete_callback, sender=Merchant)
