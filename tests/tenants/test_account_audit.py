"""Sign-ins, failed sign-ins and two-factor changes land in the audit log."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.urls import reverse

from tenants.models import AuditLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_sign_in_and_failed_sign_in_are_audited_with_ip(client):
    user = UserFactory(email="audit@shop.example")
    url = reverse("account_login")
    client.post(
        url, {"login": "audit@shop.example", "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
    )
    failed = AuditLog.objects.get(action="user.login_failed", details__email="audit@shop.example")
    assert failed.details == {"email": "audit@shop.example"}
    assert failed.ip_address == "203.0.113.7"
    assert "wrong" not in str(failed.details)

    client.post(url, {"login": "audit@shop.example", "password": "correct horse battery"})
    login = AuditLog.objects.get(action="user.login", actor=user)
    assert login.actor_id == user.pk


def test_failed_sign_in_answers_the_same_for_unknown_and_known_accounts(client):
    UserFactory(email="known@shop.example")
    url = reverse("account_login")
    known = client.post(url, {"login": "known@shop.example", "password": "nope nope"})
    unknown = client.post(url, {"login": "ghost@shop.example", "password": "nope nope"})
    assert known.status_code == unknown.status_code == 200
    errors = [known.context["form"].non_field_errors(), unknown.context["form"].non_field_errors()]
    assert errors[0] == errors[1]


def test_turning_two_factor_on_is_audited(client, django_capture_on_commit_callbacks):
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    user = UserFactory()
    client.force_login(user)
    # allauth asks for the password again before a security change.
    client.post(reverse("account_reauthenticate"), {"password": "correct horse battery"})
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    code = f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        client.post(reverse("mfa_activate_totp"), {"code": code})
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    assert AuditLog.objects.filter(action="user.mfa_enabled", actor=user).exists()
    assert TOTP and generate_totp_secret  # the helpers used by the admin-console tests exist


def test_staff_groups_exist_with_their_permissions():
    admin_perms = set(
        Group.objects.get(name="platform admin").permissions.values_list("codename", flat=True)
    )
    assert {"view_merchant", "change_merchant", "view_auditlog"} <= admin_perms
    assert Group.objects.filter(name="finance").exists()


def test_adding_and_removing_two_factor_record_their_own_actions(rf):
    from allauth.mfa import signals as mfa_signals

    user = UserFactory()
    authenticator = Authenticator(user=user, type=Authenticator.Type.TOTP)
    request = rf.get("/")
    request.user = user
    for signal in (mfa_signals.authenticator_added, mfa_signals.authenticator_removed):
        signal.send(sender=Authenticator, request=request, user=user, authenticator=authenticator)
    rows = AuditLog.objects.filter(actor=user, action__startswith="user.mfa_").order_by("pk")
    assert [(row.action, row.details) for row in rows] == [
        ("user.mfa_enabled", {"type": "totp"}),
        ("user.mfa_disabled", {"type": "totp"}),
    ]
