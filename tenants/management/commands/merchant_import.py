"""`manage.py merchant_import FILE NEW_SLUG`: restore an export into a new, empty merchant."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.portability import PortabilityError, merchant_import_read


class Command(BaseCommand):
    help = "Restore a merchant export into a new merchant (API keys are reissued, not moved)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("slug")

    def handle(self, *args, file: Path, slug: str, **options) -> None:
        try:
            result = merchant_import_read(path=file, slug=slug)
        except PortabilityError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Imported {result.rows} rows into {result.merchant.slug}.")
        if result.members_missing:
            self.stdout.write(
                "No account here for: " + ", ".join(result.members_missing) + " (invite them)."
            )
        self.stdout.write("Create new API keys for it: keys are never moved.")
