"""Who may use the finance console: active platform staff in the "finance" group, signed in
with two factors. Anyone else: 404 (not staff); staff without two factors are sent to set them
up and brought back; staff outside the group get a 403 page that says so. Every finance page
view is audited."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from superpayment.admin_site import is_mfa_enabled
from tenants.audit import AuditAction, audit_record

FINANCE_GROUP = "finance"


def in_finance_group(user) -> bool:
    return user.groups.filter(name=FINANCE_GROUP).exists()


def finance_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not (user.is_active and user.is_staff):
            raise Http404("No such page")
        if not in_finance_group(user):
            raise PermissionDenied(
                "The finance console is for the finance team. Ask a platform admin to add your "
                "account to the finance group (admin console → Staff users)."
            )
        if not is_mfa_enabled(user):
            messages.warning(
                request,
                "Turn on two-factor authentication to use the finance console; you will be "
                "brought back here.",
            )
            return redirect(
                f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}"
            )
        audit_record(
            action=AuditAction.FINANCE_VIEWED,
            request=request,
            target=("finance.page", request.path),
            details={"method": request.method, "query": request.GET.urlencode()[:500]},
        )
        return view(request, *args, **kwargs)

    return wrapped
