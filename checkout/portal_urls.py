"""Portal pages of this app, mounted under /dashboard/<slug>/ in the `portal` namespace."""

from django.urls import path

from checkout import portal_views as views

urlpatterns = [
    path("payments/", views.payments_page, name="payments"),
    path("payments/<str:payment_id>/", views.payment_detail, name="payment_detail"),
    path("payments/<str:payment_id>/refund/", views.payment_refund_view, name="payment_refund"),
]
