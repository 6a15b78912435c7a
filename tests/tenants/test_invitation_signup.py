"""Invitations survive sign-up: the invitee lands on the sign-up form with the address filled
in, joins the business when the account exists and the address is verified, and lands on it."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from tenants import team
from tenants.models import AuditLog, Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a long passphrase 4 shops"


def _invite(merchant, owner, email, capture, role="developer") -> str:
    with capture(execute=True):
        team.member_invite(merchant=merchant, email=email, role=role, invited_by=owner)
    return re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)


def test_invitee_signs_up_from_the_link_and_lands_in_the_business(
    client, merchant_a, owner_a, django_capture_on_commit_callbacks
):
    link = _invite(
        merchant_a, owner_a, "fresh.dev@shop.example", django_capture_on_commit_callbacks
    )
    page = client.get(link).content.decode()
    signup = reverse("account_signup") + "?email=fresh.dev%40shop.example"
    assert signup.replace("?", "?") in page.replace("&amp;", "&")
    form = client.get(signup).content.decode()
    assert 'value="fresh.dev@shop.example"' in form  # prefilled
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            signup,
            {"email": "fresh.dev@shop.example", "password1": PASSWORD, "password2": PASSWORD},
        )
    # No second email round trip: the link proved the address; straight to the business.
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == reverse("portal:overview", kwargs={"slug": merchant_a.slug})
    membership = Membership.objects.get(merchant=merchant_a, user__email="fresh.dev@shop.example")
    assert membership.role == "developer"
    assert AuditLog.objects.filter(action="member.joined", merchant=merchant_a).exists()


def test_invitee_who_signs_up_elsewhere_joins_when_the_address_is_verified(
    client, merchant_a, owner_a, django_capture_on_commit_callbacks
):
    _invite(merchant_a, owner_a, "other.browser@shop.example", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": "other.browser@shop.example", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert not Membership.objects.filter(user__email="other.browser@shop.example").exists()
    confirm = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    key_url = confirm.group(0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(key_url)
    membership = Membership.objects.get(user__email="other.browser@shop.example")
    assert membership.merchant == merchant_a
    assert client.get(response["Location"], follow=True).redirect_chain[-1][0] == reverse(
        "portal:overview", kwargs={"slug": merchant_a.slug}
    )


def test_an_existing_user_who_logs_in_from_the_link_joins(
    client, merchant_a, owner_a, django_capture_on_commit_callbacks
):
    user = UserFactory(email="known@shop.example")
    link = _invite(merchant_a, owner_a, "known@shop.example", django_capture_on_commit_callbacks)
    client.get(link)
    response = client.post(
        reverse("account_login"),
        {"login": "known@shop.example", "password": "correct horse battery"},
    )
    assert response["Location"] == reverse("portal:overview", kwargs={"slug": merchant_a.slug})
    assert Membership.objects.filter(merchant=merchant_a, user=user).exists()


def test_signing_up_from_a_link_with_another_address_joins_nothing(
    client, merchant_a, owner_a, django_capture_on_commit_callbacks
):
    link = _invite(
        merchant_a, owner_a, "meant.for@shop.example", django_capture_on_commit_callbacks
    )
    client.get(link)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": "someone.else@shop.example", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert not Membership.objects.filter(user__email="someone.else@shop.example").exists()
    # The stashed address was another one: this one still needs its own verification.
    assert not EmailAddress.objects.get(email="someone.else@shop.example").verified


def test_account_emails_greet_with_the_product_name(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": "greeted@shop.example", "password1": PASSWORD, "password2": PASSWORD},
        )
    body = mail.outbox[-1].body
    assert body.startswith("Hello from SuperPayment!") and "127.0.0.1" not in body.splitlines()[0]
