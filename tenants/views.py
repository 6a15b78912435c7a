"""Portal pages for merchants: businesses, overview, team and audit log."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from billing.finance_access import in_finance_group
from superpayment.money import currency_exponent
from tenants import services, team
from tenants.errors import TenantError
from tenants.forms import (
    BusinessForm,
    BusinessSettingsForm,
    InviteForm,
    PayButtonsForm,
    RoleForm,
)
from tenants.models import Invitation, Membership
from tenants.permissions import Perm, role_allows
from tenants.portal import merchant_view
from tenants.regional import active_locale, country_locale, country_time_zone
from tenants.selectors import audit_list, onboarding_checklist
from tenants.services import merchant_settings_update

NEW_KEYS_SESSION_KEY = "superpayment.new_business_keys"


def _new_keys_reveal(request: HttpRequest, result: team.BusinessCreated) -> None:
    """The test keys made with the business, for the overview's first visit: the secret key
    is shown this once (only its digest is kept), like a key made on the API keys page."""
    if result.test_publishable_key is None or result.test_secret is None:
        return
    request.session[NEW_KEYS_SESSION_KEY] = {
        "slug": result.merchant.slug,
        "publishable": result.test_publishable_key.publishable_key,
        "secret": result.test_secret,
    }


def _new_keys_pop(request: HttpRequest) -> dict | None:
    new_keys = request.session.get(NEW_KEYS_SESSION_KEY)
    if not new_keys or new_keys.get("slug") != request.merchant.slug:
        return None
    return request.session.pop(NEW_KEYS_SESSION_KEY)


def _form_error(form, error: TenantError) -> None:
    form.add_error(error.param if error.param in form.fields else None, error.message)


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.select_related("merchant")
        .filter(user=request.user, merchant__is_template=False)
        .order_by("merchant__name")
    )
    staff = request.user.is_staff
    if not memberships and not staff:
        return redirect("portal:business_create")
    if len(memberships) == 1 and not staff:
        return redirect("portal:overview", slug=memberships[0].merchant.slug)
    # Platform staff land on their consoles, not on "Create your business".
    return render(
        request,
        "portal/home.html",
        {
            "memberships": memberships,
            "staff": staff,
            "finance": staff and in_finance_group(request.user),
        },
    )


@login_required
def business_create(request: HttpRequest) -> HttpResponse:
    form = BusinessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = team.business_create(owner=request.user, request=request, **form.cleaned_data)
        except TenantError as error:
            _form_error(form, error)
        else:
            if result.created:
                messages.success(request, f"{result.merchant.name} is ready.")
                _new_keys_reveal(request, result)
            return redirect("portal:overview", slug=result.merchant.slug)
    return render(request, "portal/business_create.html", {"form": form})


@merchant_view(Perm.VIEW)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    from checkout.dashboard import (
        RANGES,
        chart_range_resolve,
        dashboard_figures,
        dashboard_mode_default,
    )

    if request.portal_mode is None:
        request.livemode = dashboard_mode_default()
    livemode = request.livemode
    chart_range = chart_range_resolve(
        key=request.GET.get("range"),
        start=request.GET.get("from", ""),
        end=request.GET.get("to", ""),
        today=timezone.localdate(),
    )
    return render(
        request,
        "portal/overview.html",
        {
            "checklist": onboarding_checklist(merchant=request.merchant, livemode=livemode),
            "new_keys": _new_keys_pop(request),
            "figures": dashboard_figures(
                livemode=livemode,
                default_currency=request.merchant.default_currency,
                chart_range=chart_range,
                locale=active_locale(),
            ),
            "ranges": RANGES,
            "pay_buttons": _pay_buttons_context(request),
            "snippet_amount": _snippet_amount(request.merchant.default_currency),
        },
    )


def _snippet_amount(currency: str) -> str:
    """An example amount the widget accepts in this currency: "99.00" EUR, "99" JPY."""
    exponent = currency_exponent(currency)
    return "99" + ("." + "0" * exponent if exponent else "")


def _pay_buttons_context(request: HttpRequest) -> list[dict]:
    """Per mode: the accepted pay buttons, and a form to change them for roles that manage keys."""
    merchant = request.merchant
    can_edit = role_allows(request.membership.role, Perm.MANAGE_KEYS)
    modes = []
    for mode, livemode in (("test", False), ("live", True)):
        accepted = merchant.pay_buttons(livemode=livemode)
        form = PayButtonsForm(initial={"mode": mode, "pay_buttons": accepted}, auto_id=f"{mode}_%s")
        modes.append(
            {
                "mode": mode,
                "accepted": accepted,
                "unsigned_accepted": "page" in accepted,
                "form": form if can_edit else None,
            }
        )
    return modes


@require_POST
@merchant_view(Perm.MANAGE_KEYS)
def pay_buttons_update(request: HttpRequest) -> HttpResponse:
    form = PayButtonsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Accept at least one kind of pay button.")
    else:
        mode = form.cleaned_data["mode"]
        try:
            services.merchant_pay_buttons_set(
                merchant=request.merchant,
                livemode=mode == "live",
                pay_buttons=form.cleaned_data["pay_buttons"],
                actor=request.user,
                request=request,
            )
        except TenantError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Accepted pay buttons saved for {mode} mode.")
    return redirect("portal:overview", slug=request.merchant.slug)


@merchant_view(Perm.VIEW, write_perm=Perm.MANAGE_TEAM)
def team_page(request: HttpRequest) -> HttpResponse:
    merchant = request.merchant
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team.member_invite(
                merchant=merchant, invited_by=request.user, request=request, **form.cleaned_data
            )
        except TenantError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("portal:team", slug=merchant.slug)
    members = Membership.objects.filter(merchant=merchant).select_related("user").order_by("pk")
    pending = Invitation.objects.filter(
        merchant=merchant, accepted_at__isnull=True, revoked_at__isnull=True
    )
    return render(
        request,
        "portal/team.html",
        {"form": form, "members": members, "pending": pending, "role_form": RoleForm()},
    )


def _team_change(request: HttpRequest, change, success: str, **kwargs) -> HttpResponse:
    """Run one team service; its refusal becomes a message on the team page."""
    try:
        change(merchant=request.merchant, actor=request.user, request=request, **kwargs)
    except TenantError as error:
        messages.error(request, error.message)
    except Membership.DoesNotExist:
        messages.error(request, "That member is no longer on the team.")
    else:
        messages.success(request, success)
    return redirect("portal:team", slug=request.merchant.slug)


@require_POST
@merchant_view(Perm.MANAGE_TEAM)
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("portal:team", slug=request.merchant.slug)
    return _team_change(
        request,
        team.member_change_role,
        "Role changed.",
        membership_id=membership_id,
        role=form.cleaned_data["role"],
    )


@require_POST
@merchant_view(Perm.MANAGE_TEAM)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _team_change(request, team.member_remove, "Member removed.", membership_id=membership_id)


@require_POST
@merchant_view(Perm.MANAGE_TEAM)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    team.invitation_revoke(
        merchant=request.merchant, invitation_id=invitation_id, actor=request.user, request=request
    )
    messages.success(request, "Invitation withdrawn.")
    return redirect("portal:team", slug=request.merchant.slug)


@merchant_view(Perm.VIEW_AUDIT)
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    entries = audit_list(merchant=request.merchant)[:200]
    return render(request, "portal/audit.html", {"entries": entries})


@merchant_view(Perm.VIEW, write_perm=Perm.MANAGE_TEAM)
def settings_page(request: HttpRequest) -> HttpResponse:
    """The business's name, time zone and locale: every member sees them, owners change them
    (audited)."""
    merchant = request.merchant
    default = (country_time_zone(merchant.country), country_locale(merchant.country))
    initial = {"name": merchant.name, "time_zone": merchant.time_zone, "locale": merchant.locale}
    form = BusinessSettingsForm(request.POST or None, initial=initial, country_default=default)
    if request.method == "POST" and form.is_valid():
        try:
            merchant_settings_update(
                merchant=merchant, actor=request.user, request=request, **form.cleaned_data
            )
        except TenantError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect("portal:settings", slug=merchant.slug)
    can_edit = role_allows(request.membership.role, Perm.MANAGE_TEAM)
    return render(request, "portal/settings.html", {"form": form, "can_edit": can_edit})


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = team.invitation_from_token(token)
    except TenantError as error:
        return render(request, "portal/invitation.html", {"error": error.message}, status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = team.invitation_accept(token=token, user=request.user, request=request)
        except TenantError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Welcome to {membership.merchant.name}.")
            return redirect("portal:overview", slug=membership.merchant.slug)
    if not request.user.is_authenticated:
        # Signing up or in from here joins the business: the address this link was mailed to
        # counts as verified when the invitee signs up with it in this browser.
        request.session[team.INVITATION_SESSION_KEY] = token
        get_adapter(request).stash_verified_email(request, invitation.email)
    return render(request, "portal/invitation.html", {"invitation": invitation, "token": token})
