"""allauth's hooks where accounts meet merchants: an invitee who signs up (or verifies the
invited address) joins the business that invited them and lands on it."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tenants import team


class AccountAdapter(DefaultAccountAdapter):
    def post_login(self, request: HttpRequest, user, **kwargs) -> HttpResponse:
        token = request.session.pop(team.INVITATION_SESSION_KEY, None)
        membership = team.invitation_join_after_login(token=token, user=user, request=request)
        if membership is not None:
            kwargs["redirect_url"] = reverse(
                "portal:overview", kwargs={"slug": membership.merchant.slug}
            )
        return super().post_login(request, user, **kwargs)

    def confirm_email(self, request: HttpRequest, email_address) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            # Verified in any browser: the invitations waiting for this address are accepted.
            team.invitations_accept_for_address(
                user=email_address.user, email=email_address.email, request=request
            )
        return confirmed

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        context = {**context, "public_base_url": settings.PUBLIC_BASE_URL}
        super().send_mail(template_prefix, email, context)
