from django.apps import AppConfig


class WebhookQueueConfig(AppConfig):
    """The one public-schema table of webhooks: the due-delivery queue across every merchant.

    A separate app (label `webhooks_queue`) so that it is a SHARED app only, while the webhook
    endpoints, events and deliveries stay in each merchant's schema (TENANT app `webhooks`).
    """

    name = "webhooks.queue"
    label = "webhooks_queue"
    default_auto_field = "django.db.models.BigAutoField"
