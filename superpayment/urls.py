from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView

from superpayment import health, mfa_views
from superpayment.api.views import NotFoundView
from tenants import session_views
from tenants import views as tenant_views

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before allauth's own: the same address, keeping `?next=` through two-factor setup.
    path(
        "accounts/2fa/totp/activate/",
        mfa_views.ActivateTOTPThenContinue.as_view(),
        name="mfa_activate_totp",
    ),
    path("accounts/2fa/continue/", mfa_views.mfa_continue, name="mfa_continue"),
    # Before allauth's own list (the same name): per-session sign-out, audited.
    path("accounts/sessions/", session_views.sessions_page, name="usersessions_list"),
    path(
        "accounts/sessions/<int:session_id>/sign-out/",
        session_views.session_end,
        name="usersession_end",
    ),
    path(
        "accounts/sessions/sign-out-others/",
        session_views.sessions_end_others,
        name="usersessions_end_others",
    ),
    path("accounts/", include("allauth.urls")),
    path("dashboard/", include("tenants.urls")),
    path("invitations/<str:token>/", tenant_views.invitation_accept, name="invitation_accept"),
    path("admin/", admin.site.urls),
    re_path(r"^v1$", NotFoundView.as_view()),  # the envelope, not APPEND_SLASH's HTML 301
    path("v1/", include("superpayment.api_urls")),
    path("", include("checkout.urls")),
    path("", include("billing.urls")),
]
