"""Bring a database up to date: shared schema, template schema, every merchant that is behind;
demo data.

Run by `make run` on every start and by the deployment's migration job; safe to run repeatedly,
and a run that stops part-way is finished by running it again (tenants.migrating).
"""

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tenants.activation import merchant_live_activate_for_development
from tenants.migrating import (
    ProgressPrinter,
    code_migrations_digest,
    constraint_names_align,
    schemas_behind,
    schemas_migrate,
)
from tenants.models import Merchant
from tenants.services import merchant_template_ensure, provision_merchant
from tenants.team import demo_owner_ensure

DEMO_OWNER_EMAIL = "owner@demo-shop.localhost"
DEMO_OWNER_PASSWORD = "superpayment-demo"  # noqa: S105 - development data, refused in production
DEMO_MERCHANT = {
    "slug": "demo-shop",
    "name": "Demo Shop",
    "country": "DE",
    "default_currency": "EUR",
}


class Command(BaseCommand):
    help = (
        "Migrate the shared schema, then the template and every merchant schema that is behind "
        "(in parallel, resumable)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="create the demo merchant")
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="processes migrating merchant schemas (default: MIGRATION_PROCESSES, "
            f"{settings.MIGRATION_PROCESSES})",
        )

    def handle(self, *args, demo: bool = False, verbosity: int = 1, processes=None, **options):
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        merchant_template_ensure()
        self.merchant_schemas_migrate(
            processes=processes or settings.MIGRATION_PROCESSES, verbosity=verbosity
        )
        if demo:
            self.demo_ensure()

    def merchant_schemas_migrate(self, *, processes: int, verbosity: int) -> None:
        started = time.monotonic()
        behind = schemas_behind(code_migrations_digest())
        if verbosity >= 1:
            total = Merchant.objects.count()
            self.stdout.write(
                f"merchant schemas: {len(behind):,} of {total:,} behind the code's migrations"
                + (f", migrating with {processes} processes" if behind else "")
            )
        write = self.stdout.write if verbosity >= 1 else (lambda line: None)
        renamed = constraint_names_align(behind)
        if renamed and verbosity >= 1:
            self.stdout.write(f"merchant schemas: {renamed:,} constraint names aligned")
        run = schemas_migrate(behind, processes=processes, progress=ProgressPrinter(write))
        if verbosity >= 1 and behind:
            self.stdout.write(
                f"merchant schemas: {run.done - len(run.failed):,} brought up to date "
                f"({run.applied:,} migrations applied) in {time.monotonic() - started:.1f} s"
            )
        if run.failed:
            for schema_name, error in sorted(run.failed.items()):
                self.stderr.write(f"{schema_name}: {error}")
            raise CommandError(
                f"{len(run.failed)} merchant schema(s) failed to migrate; the others are done. "
                "Fix the cause and run setup_platform again: it carries on with those behind."
            )

    def demo_ensure(self) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        result = provision_merchant(**DEMO_MERCHANT)
        demo_owner_ensure(
            merchant=result.merchant, email=DEMO_OWNER_EMAIL, password=DEMO_OWNER_PASSWORD
        )
        # The demo shows live mode too; a real merchant activates it in the portal.
        merchant_live_activate_for_development(merchant=result.merchant)
        state = "created" if result.created else "already there"
        self.stdout.write(
            f"Demo merchant {result.merchant.slug!r}: {state}; "
            f"owner {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}"
        )
        from checkout.demo import demo_checkout_ensure
        from superpayment.money import amount_format

        demo = demo_checkout_ensure(merchant=result.merchant)
        self.stdout.write(
            f"Demo shop {settings.PUBLIC_BASE_URL.rstrip('/')}/demo/shop/ "
            f"(publishable key {demo.publishable_key}); demo voucher codes:"
        )
        from vouchers.codes import code_format

        for code, balance in demo.codes:
            self.stdout.write(f"  {code_format(code)}  ({amount_format(balance, 'EUR')} left)")
        from checkout.demo_backend import demo_backend_setup

        self.stdout.write(demo_backend_setup(merchant=result.merchant))
