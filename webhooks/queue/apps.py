from django.apps import AppConfig


class WebhookQueueConfig(AppConfig):
    """The one public-schema table of webhooks: the due-delivery queue across every merchant.

    A separate app (label `webhooks_queue`) so that it is a SHARED app only, while the webhook
    endpoints, events and deliveries stay in each merchant's schema (TENANT app `webhooks`).
    """

    name = "webhooks.queue"
    label = "webhooks_queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from tenants.models import Merchant

        post_delete.connect(_merchant_queue_drop, sender=Merchant)


def _merchant_queue_drop(sender, instance, **kwargs) -> None:
    """A deleted merchant's due deliveries go with its schema: rows are keyed by schema name, and
    a merchant created later under the same name would collide with them (its delivery ids
    start again at 1)."""
    from webhooks.queue.models import DueDelivery

    DueDelivery.objects.filter(schema_name=instance.schema_name).delete()
