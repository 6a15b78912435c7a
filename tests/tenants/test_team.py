from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tenants import team
from tenants.errors import TenantError, TenantErrorCode
from tenants.models import AuditLog, Invitation, Membership, Role
from tests.conftest import member_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


def test_business_create_makes_the_user_owner_and_a_double_submit_returns_it(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    details = {"name": "Tea House", "slug": "tea-house", "country": "GB", "default_currency": "GBP"}
    first = team.business_create(owner=user, **details)
    again = team.business_create(owner=user, **details)

    assert first.created and not again.created
    assert again.merchant.pk == first.merchant.pk
    assert Membership.objects.get(merchant=first.merchant).role == Role.OWNER
    assert AuditLog.objects.filter(merchant=first.merchant, action="merchant.created").count() == 1


def test_business_create_refuses_someone_elses_slug():
    details = {"name": "Tea House", "slug": "tea-house", "country": "GB", "default_currency": "GBP"}
    team.business_create(owner=UserFactory(), **details)
    with pytest.raises(TenantError) as caught:
        team.business_create(owner=UserFactory(), **details)
    assert caught.value.code == TenantErrorCode.SLUG_TAKEN


def test_business_create_needs_a_verified_email():
    with pytest.raises(TenantError) as caught:
        team.business_create(
            owner=UserFactory(verified=False),
            name="X Shop",
            slug="x-shop",
            country="DE",
            default_currency="EUR",
        )
    assert caught.value.code == TenantErrorCode.EMAIL_NOT_VERIFIED


def test_invitation_email_link_joins_the_invitee_once(
    client, merchant_a, owner_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        team.member_invite(
            merchant=merchant_a, email="New.Dev@Shop.Example", role="developer", invited_by=owner_a
        )
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0])
    invitee = UserFactory(email="new.dev@shop.example")

    client.force_login(invitee)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:overview", kwargs={"slug": merchant_a.slug})
    assert Membership.objects.get(merchant=merchant_a, user=invitee).role == "developer"

    assert client.post(link).status_code == 404  # single use
    assert Membership.objects.filter(merchant=merchant_a, user=invitee).count() == 1


def test_an_invitation_cannot_be_taken_by_another_account(merchant_a, owner_a):
    invitation = team.member_invite(
        merchant=merchant_a, email="a@x.example", role="viewer", invited_by=owner_a
    )
    with pytest.raises(TenantError) as caught:
        team.invitation_accept(token=team.invitation_token(invitation), user=UserFactory())
    assert caught.value.code == TenantErrorCode.INVITATION_WRONG_USER
    assert not Membership.objects.filter(merchant=merchant_a, role="viewer").exists()


def test_expired_and_forged_invitation_links_are_refused(merchant_a, owner_a):
    invitation = team.member_invite(
        merchant=merchant_a, email="late@x.example", role="viewer", invited_by=owner_a
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    invitee = UserFactory(email="late@x.example")
    for token in (team.invitation_token(invitation), "forged-token"):
        with pytest.raises(TenantError) as caught:
            team.invitation_accept(token=token, user=invitee)
        assert caught.value.code == TenantErrorCode.INVITATION_INVALID


def test_verifying_an_address_joins_its_pending_invitations_without_a_link_token(
    merchant_a, merchant_b, owner_a, owner_b, monkeypatch
):
    email = "verified.late@x.example"
    team.member_invite(merchant=merchant_a, email=email, role="developer", invited_by=owner_a)
    team.member_invite(merchant=merchant_b, email=email, role="viewer", invited_by=owner_b)
    withdrawn = team.member_invite(
        merchant=merchant_a, email="verified.late@x.example", role="admin", invited_by=owner_a
    )  # replaces the first one to merchant A...
    Invitation.objects.filter(pk=withdrawn.pk).update(revoked_at=timezone.now())  # ...then gone
    invitee = UserFactory(email=email)

    def no_token(*args, **kwargs):
        raise AssertionError("the verified address is the proof: no link token is made or read")

    monkeypatch.setattr(team.signing, "dumps", no_token)
    monkeypatch.setattr(team.signing, "loads", no_token)
    joined = team.invitations_accept_for_address(user=invitee, email=email.upper())

    assert [(m.merchant, m.role) for m in joined] == [(merchant_b, "viewer")]
    assert not Membership.objects.filter(merchant=merchant_a, user=invitee).exists()
    assert Invitation.objects.get(merchant=merchant_b, email=email).accepted_by == invitee
    assert AuditLog.objects.filter(action="member.joined", merchant=merchant_b).count() == 1


def test_the_last_owner_can_be_neither_removed_nor_demoted(merchant_a, owner_a):
    owner_membership = Membership.objects.get(merchant=merchant_a, user=owner_a)
    with pytest.raises(TenantError) as caught:
        team.member_remove(merchant=merchant_a, membership_id=owner_membership.pk, actor=owner_a)
    assert caught.value.code == TenantErrorCode.LAST_OWNER
    with pytest.raises(TenantError):
        team.member_change_role(
            merchant=merchant_a, membership_id=owner_membership.pk, role="admin", actor=owner_a
        )

    second = Membership.objects.get(merchant=merchant_a, user=member_of(merchant_a, "owner"))
    team.member_change_role(
        merchant=merchant_a, membership_id=owner_membership.pk, role="admin", actor=owner_a
    )
    assert Membership.objects.get(pk=owner_membership.pk).role == "admin"
    assert Membership.objects.get(pk=second.pk).role == "owner"
    actions = list(AuditLog.objects.filter(merchant=merchant_a).values_list("action", flat=True))
    assert "member.role_changed" in actions


def test_portal_team_page_invites_and_shows_field_errors(client, merchant_a, owner_a):
    client.force_login(owner_a)
    url = reverse("portal:team", kwargs={"slug": merchant_a.slug})
    bad = client.post(url, {"email": "not-an-email", "role": "developer"})
    assert bad.status_code == 200
    assert "Enter a valid email address." in bad.content.decode()
    assert client.post(url, {"email": "ok@x.example", "role": "developer"}).status_code == 302
    assert Invitation.objects.filter(merchant=merchant_a, email="ok@x.example").exists()


def test_a_suspended_merchants_portal_is_read_only(client, merchant_a, owner_a):
    merchant_a.status = "suspended"
    merchant_a.save(update_fields=["status"])
    client.force_login(owner_a)
    page = client.get(reverse("portal:overview", kwargs={"slug": merchant_a.slug}))
    assert "This account is suspended" in page.content.decode()
    response = client.post(
        reverse("portal:team", kwargs={"slug": merchant_a.slug}),
        {"email": "s@x.example", "role": "viewer"},
    )
    assert response.status_code == 302
    assert not Invitation.objects.filter(email="s@x.example").exists()
