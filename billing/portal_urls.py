"""Portal pages of this app, mounted under /dashboard/<slug>/ in the `portal` namespace."""

from django.urls import path

from billing import portal_views

urlpatterns = [
    path("billing/", portal_views.billing, name="billing"),
    path(
        "billing/invoices/<int:invoice_id>/", portal_views.billing_invoice, name="billing_invoice"
    ),
    path(
        "billing/invoices/<int:invoice_id>/pdf",
        portal_views.billing_invoice_pdf,
        name="billing_invoice_pdf",
    ),
    path(
        "billing/invoices/<int:invoice_id>/payments.csv",
        portal_views.billing_invoice_csv,
        name="billing_invoice_csv",
    ),
]
