"""Public (non-API, non-portal) routes of this app, mounted at the site root: Stripe's webhook
and the finance console."""

from django.urls import path

from billing import finance_views, webhook_views

urlpatterns = [
    path("stripe/webhook", webhook_views.stripe_webhook, name="stripe_webhook"),
    path("finance/", finance_views.finance_home, name="finance_home"),
    path("finance/invoices/", finance_views.finance_invoices, name="finance_invoices"),
    path(
        "finance/invoices/<int:invoice_id>/",
        finance_views.finance_invoice,
        name="finance_invoice",
    ),
    path(
        "finance/invoices/<int:invoice_id>/payments.csv",
        finance_views.finance_invoice_payments_csv,
        name="finance_invoice_payments_csv",
    ),
    path(
        "finance/invoices/<int:invoice_id>/<str:action>",
        finance_views.finance_invoice_action,
        name="finance_invoice_action",
    ),
    path("finance/runs/", finance_views.finance_run, name="finance_run"),
    path("finance/liability/", finance_views.finance_liability, name="finance_liability"),
]
