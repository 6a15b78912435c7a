"""The platform admin console: Django admin, for platform staff who sign in with two factors."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class PlatformAdminSite(admin.AdminSite):
    site_header = "SuperPayment admin console"
    site_title = "SuperPayment admin"
    index_title = "Platform administration"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff only, and only with two-factor authentication turned on."""
        return super().has_permission(request) and is_mfa_enabled(request.user)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Sign-in always goes through the product's login, where the second factor is asked."""
        index = reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not is_mfa_enabled(user):
            messages.warning(
                request,
                "Platform staff must turn on two-factor authentication before using the "
                "admin console.",
            )
            return redirect(f"{reverse('mfa_activate_totp')}?next={index}")
        if user.is_authenticated and not user.is_staff:
            messages.error(request, "The admin console is for platform staff only.")
            return redirect("home")
        return redirect_to_login(request.GET.get("next", index), reverse("account_login"))


def is_mfa_enabled(user) -> bool:
    from allauth.mfa.utils import is_mfa_enabled as allauth_is_mfa_enabled

    return user.is_authenticated and allauth_is_mfa_enabled(user)
