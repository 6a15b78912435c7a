"""Two-factor setup that brings the user back where they were going: the consoles send staff
to set up TOTP with `?next=`, which allauth's activation view forgets."""

from __future__ import annotations

from allauth.mfa.totp.views import ActivateTOTPView
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "mfa_next"


class ActivateTOTPThenContinue(ActivateTOTPView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        target = request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            request.session[SESSION_KEY] = target
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self) -> str:
        # With new recovery codes the user sees them first; that page offers "Continue".
        if self.did_generate_recovery_codes:
            return reverse("mfa_view_recovery_codes")
        return self.request.session.pop(SESSION_KEY, None) or reverse("mfa_index")


@login_required
def mfa_continue(request: HttpRequest) -> HttpResponse:
    """Where the user was going before two-factor setup (checked when it was stored)."""
    return redirect(request.session.pop(SESSION_KEY, None) or reverse("mfa_index"))
