"""Merchant API routes of this app, mounted under /v1/."""

from django.urls import path

from checkout.api import CheckoutSessionCreateView, CheckoutSessionDetailView, PaymentDetailView
from checkout.payments_api import PaymentListView, PaymentRefundsView, RefundDetailView

urlpatterns = [
    path("checkout/sessions", CheckoutSessionCreateView.as_view(), name="api-checkout-sessions"),
    path(
        "checkout/sessions/<str:session_id>",
        CheckoutSessionDetailView.as_view(),
        name="api-checkout-session",
    ),
    path("payments/<str:payment_id>", PaymentDetailView.as_view(), name="api-payment"),
    path("payments", PaymentListView.as_view(), name="api-payments"),
    path(
        "payments/<str:payment_id>/refunds",
        PaymentRefundsView.as_view(),
        name="api-payment-refunds",
    ),
    path("refunds/<str:refund_id>", RefundDetailView.as_view(), name="api-refund"),
]
