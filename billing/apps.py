from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # The issuer's settings are checked at start-up, so a bad value stops the process
        # instead of printing on invoices; here, not while settings import, so settings stay
        # free of app code.
        from billing.vat import billing_settings_problems

        problems = billing_settings_problems(
            country=settings.BILLING_COMPANY_COUNTRY,
            vat_id=settings.BILLING_COMPANY_VAT_ID,
            iban=settings.BILLING_BANK_IBAN,
            bic=settings.BILLING_BANK_BIC,
        )
        if problems:
            raise ImproperlyConfigured("Billing settings: " + "; ".join(problems) + ".")
