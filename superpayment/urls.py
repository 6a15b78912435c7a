from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView

from superpayment import health
from superpayment.api.views import NotFoundView
from tenants import views as tenant_views

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("dashboard/", include("tenants.urls")),
    path("invitations/<str:token>/", tenant_views.invitation_accept, name="invitation_accept"),
    path("admin/", admin.site.urls),
    re_path(r"^v1$", NotFoundView.as_view()),  # the envelope, not APPEND_SLASH's HTML 301
    path("v1/", include("superpayment.api_urls")),
    path("", include("checkout.urls")),
    path("", include("billing.urls")),
]
