"""The portal's request plumbing: resolve the merchant from the URL, check membership and role,
activate the merchant's schema. A merchant the user is not a member of answers 404."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from tenants.models import Membership
from tenants.permissions import Perm, role_allows
from tenants.regional import merchant_regional

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MODE_SESSION_KEY = "superpayment.portal_mode"
PORTAL_MODES = ("test", "live")


def portal_mode_resolve(request: HttpRequest, *, slug: str) -> str | None:
    """The mode (test or live) the member is viewing this merchant's data in: `?mode=` when
    given (then remembered in the session, per merchant, so every page stays in it, as the
    switch in the portal's header promises), else the remembered one, else None (the page's
    default)."""
    remembered = request.session.get(MODE_SESSION_KEY) or {}
    chosen = request.GET.get("mode")
    if chosen in PORTAL_MODES:
        if remembered.get(slug) != chosen:
            request.session[MODE_SESSION_KEY] = {**remembered, slug: chosen}
        return chosen
    return remembered.get(slug)


def membership_get(*, user, slug: str) -> Membership:
    membership = (
        Membership.objects.select_related("merchant")
        .filter(user=user, merchant__slug=slug, merchant__is_template=False)
        .first()
    )
    if membership is None:
        raise Http404("No such merchant")
    return membership


def portal_object_mode(request: HttpRequest, *, livemode: bool, list_url: str) -> None:
    """On an object's page the object's own mode is the one shown (banner, switch); switching
    mode there leads to `list_url`, the other mode's list, since the object has one mode."""
    request.livemode = livemode
    request.mode_switch_url = list_url


def merchant_view(perm: Perm = Perm.VIEW, *, write_perm: Perm | None = None) -> Callable:
    """Decorate a portal view taking `slug`. GETs need `perm`; POSTs need `write_perm` (default:
    `perm`), and a suspended merchant's portal refuses every write."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
            membership = membership_get(user=request.user, slug=slug)
            merchant = membership.merchant
            is_write = request.method not in SAFE_METHODS
            needed = (write_perm or perm) if is_write else perm
            if not role_allows(membership.role, needed):
                raise PermissionDenied("Your role does not allow this.")
            if is_write and not merchant.is_active:
                messages.error(request, "This account is suspended: the portal is read-only.")
                return redirect("portal:overview", slug=merchant.slug)
            request.merchant = merchant
            request.membership = membership
            request.portal_mode = portal_mode_resolve(request, slug=merchant.slug)
            # Test unless chosen otherwise; a page with its own default may change it.
            request.livemode = request.portal_mode == "live"
            connection.set_tenant(merchant)
            with merchant_regional(merchant):
                return view(request, *args, **kwargs)

        return wrapped

    return decorate
