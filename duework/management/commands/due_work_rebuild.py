"""Rebuild the due-work index from the merchants' own rows.

Once, when upgrading from the per-merchant beat fan-out (the index starts empty), or for one
merchant restored by hand. This visits every merchant named, so it is an operator's one-off,
never a periodic job: `manage.py due_work_rebuild [slug ...]`.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from duework.services import due_work_rebuild
from tenants.models import Merchant


class Command(BaseCommand):
    help = "Recompute each merchant's next due periodic work (all merchants, or those named)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", help="merchant slugs (default: every merchant)")

    def handle(self, *args, slugs: list[str], **options) -> None:
        merchants = Merchant.objects.merchants().order_by("pk")
        if slugs:
            merchants = merchants.filter(slug__in=slugs)
        done = 0
        for merchant in merchants.iterator():
            with schema_context(merchant.schema_name):
                due_work_rebuild()
            done += 1
        self.stdout.write(f"Due work rebuilt for {done} merchant(s).")
