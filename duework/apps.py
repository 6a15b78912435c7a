from django.apps import AppConfig


class DueWorkConfig(AppConfig):
    """The public index of each merchant's next due time per kind of periodic work.

    A SHARED app (public schema only), like the due-delivery queue of `webhooks.queue`: beat reads
    it to find the merchants with work due, so an idle merchant costs no task and no query.
    """

    name = "duework"
    label = "duework"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from tenants.models import Merchant

        post_delete.connect(_merchant_due_work_drop, sender=Merchant)


def _merchant_due_work_drop(sender, instance, **kwargs) -> None:
    """A deleted merchant's due work goes with its schema (rows are keyed by schema name)."""
    from duework.models import DueWork

    DueWork.objects.filter(schema_name=instance.schema_name).delete()
