"""`manage.py merchant_export SLUG FILE`: one merchant's schema and public rows, as JSON."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Merchant
from tenants.portability import merchant_export_write


class Command(BaseCommand):
    help = "Export one merchant (its schema's rows and its public rows) to a JSON file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, slug: str, file: Path, **options) -> None:
        merchant = Merchant.objects.merchants().filter(slug=slug).first()
        if merchant is None:
            raise CommandError(f"No merchant {slug!r}.")
        merchant_export_write(merchant=merchant, path=file)
        self.stdout.write(f"Exported {slug} to {file}.")
