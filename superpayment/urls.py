from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from superpayment import health

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("v1/", include("superpayment.api_urls")),
]
