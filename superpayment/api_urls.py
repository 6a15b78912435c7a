"""The merchant REST API, mounted at /v1/."""

from django.urls import include, path, re_path

from superpayment.api.views import DocsView, NotFoundView, SchemaView
from tenants.api.views import AccountView

urlpatterns = [
    path("account", AccountView.as_view(), name="api-account"),
    path("schema", SchemaView.as_view(), name="api-schema"),
    path("docs", DocsView.as_view(), name="api-docs"),
    path("", include("vouchers.api_urls")),
    path("", include("checkout.api_urls")),
    path("", include("webhooks.api_urls")),
    # Keep last: any other /v1/ path answers the JSON error envelope.
    re_path(r"^.*$", NotFoundView.as_view(), name="api-not-found"),
]
