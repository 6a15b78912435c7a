"""The portal's live-mode activation page: every member sees where the business stands; only an
owner can activate."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants.activation import TERMS_VERSION, live_activate, live_activation_status
from tenants.errors import TenantError
from tenants.forms import LiveActivationForm
from tenants.models import Role
from tenants.permissions import Perm
from tenants.portal import merchant_view


def _initial(merchant) -> dict:
    from billing.profiles import billing_profile_get

    profile = billing_profile_get(merchant=merchant)
    return {"legal_name": profile.legal_name, "address": profile.address, "vat_id": profile.vat_id}


@merchant_view(Perm.VIEW)
def live_activation(request: HttpRequest) -> HttpResponse:
    merchant = request.merchant
    is_owner = request.membership.role == Role.OWNER
    if request.method == "POST" and not is_owner:
        raise PermissionDenied("Only an owner of the business can activate live mode.")
    form = LiveActivationForm(request.POST or None, initial=_initial(merchant))
    if request.method == "POST" and form.is_valid():
        try:
            live_activate(
                merchant=merchant, actor=request.user, request=request, **form.cleaned_data
            )
        except TenantError as error:
            form.add_error(error.param if error.param in form.fields else None, error.message)
        else:
            messages.success(request, "Live mode is activated: you can now create live keys.")
            return redirect(f"{request.path}?mode=live")
    return render(
        request,
        "portal/live_activation.html",
        {
            "form": form,
            "status": live_activation_status(merchant=merchant),
            "is_owner": is_owner,
            "terms_version": TERMS_VERSION,
        },
    )
