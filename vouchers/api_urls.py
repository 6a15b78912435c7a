"""Merchant API routes of this app, mounted under /v1/."""

from django.urls import path

from vouchers.api import views

urlpatterns = [
    path("vouchers", views.VoucherListCreateView.as_view(), name="api-vouchers"),
    path("vouchers/bulk", views.VoucherBulkCreateView.as_view(), name="api-vouchers-bulk"),
    path("vouchers/balance", views.VoucherBalanceView.as_view(), name="api-vouchers-balance"),
    path("vouchers/<str:voucher_id>", views.VoucherDetailView.as_view(), name="api-voucher"),
    path(
        "vouchers/<str:voucher_id>/adjust",
        views.VoucherAdjustView.as_view(),
        name="api-voucher-adjust",
    ),
    path(
        "vouchers/<str:voucher_id>/ledger",
        views.VoucherLedgerView.as_view(),
        name="api-voucher-ledger",
    ),
    path("voucher_jobs/<str:job_id>", views.VoucherJobDetailView.as_view(), name="api-voucher-job"),
    path(
        "voucher_jobs/<str:job_id>/codes",
        views.VoucherJobCodesView.as_view(),
        name="api-voucher-job-codes",
    ),
]
