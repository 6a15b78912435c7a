"""Bring a database up to date: shared schema, template schema, every merchant; demo data.

Run by `make run` on every start and by the deployment's migration job; safe to run repeatedly.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tenants.services import (
    merchant_schemas_repair,
    merchant_template_ensure,
    provision_merchant,
)
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
    help = "Migrate the shared and all tenant schemas, keep the template schema current."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="create the demo merchant")

    def handle(self, *args, demo: bool = False, verbosity: int = 1, **options):
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        merchant_template_ensure()
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        merchant_schemas_repair()
        if demo:
            if settings.PRODUCTION:
                raise CommandError("Demo data is for development only.")
            result = provision_merchant(**DEMO_MERCHANT)
            demo_owner_ensure(
                merchant=result.merchant, email=DEMO_OWNER_EMAIL, password=DEMO_OWNER_PASSWORD
            )
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
