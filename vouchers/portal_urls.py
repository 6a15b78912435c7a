"""Portal pages of this app, mounted under /dashboard/<slug>/ in the `portal` namespace."""

from django.urls import path

from vouchers import portal_views as views

urlpatterns = [
    path("vouchers/", views.vouchers_page, name="vouchers"),
    path("vouchers/new/", views.voucher_create, name="voucher_create"),
    path("vouchers/bulk/", views.voucher_bulk, name="voucher_bulk"),
    path("vouchers/import/", views.voucher_import, name="voucher_import"),
    path("vouchers/import/report/", views.voucher_import_report, name="voucher_import_report"),
    path("vouchers/export/", views.voucher_export, name="voucher_export"),
    path("vouchers/jobs/<str:job_id>/", views.voucher_job, name="voucher_job"),
    path("vouchers/<str:voucher_id>/", views.voucher_detail, name="voucher_detail"),
    path("vouchers/<str:voucher_id>/status/", views.voucher_status, name="voucher_status"),
    path("vouchers/<str:voucher_id>/adjust/", views.voucher_adjust_view, name="voucher_adjust"),
]
