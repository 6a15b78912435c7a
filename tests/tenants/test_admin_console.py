"""The platform admin console: staff only, with two factors; suspension takes effect at once."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tenants.models import AuditLog, Merchant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_without_mfa():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_with_mfa(staff_without_mfa):
    TOTP.activate(staff_without_mfa, generate_totp_secret())
    return staff_without_mfa


def test_staff_without_two_factors_are_sent_to_set_them_up(client, staff_without_mfa):
    client.force_login(staff_without_mfa)
    response = client.get(reverse("admin:index"), follow=True)
    # To the console's login, from there to setting up TOTP (allauth first re-asks the password).
    assert response.redirect_chain[1][0].startswith(reverse("mfa_activate_totp"))
    assert client.get(reverse("admin:tenants_merchant_changelist")).status_code == 302


def test_the_console_never_offers_its_own_password_form(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_merchant_users_are_kept_out(client, merchant_a, owner_a):
    client.force_login(owner_a)
    assert client.get(reverse("admin:tenants_merchant_changelist")).status_code == 302
    assert client.get(reverse("admin:index"), follow=True).redirect_chain[-1][0] == reverse("home")


def test_staff_with_two_factors_list_merchants_without_the_template(
    client, staff_with_mfa, merchant_a
):
    client.force_login(staff_with_mfa)
    page = client.get(reverse("admin:tenants_merchant_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert merchant_a.name in html
    assert "Template schema" not in html


def test_suspend_needs_a_reason_and_is_audited(client, staff_with_mfa, merchant_a):
    client.force_login(staff_with_mfa)
    url = reverse("admin:tenants_merchant_suspend", args=[merchant_a.pk])
    assert client.post(url, {"reason": " "}).status_code == 200  # form error, nothing changed
    assert Merchant.objects.get(pk=merchant_a.pk).status == "active"

    response = client.post(url, {"reason": "Chargeback fraud under review"})
    assert response.status_code == 302
    assert Merchant.objects.get(pk=merchant_a.pk).status == "suspended"
    entry = AuditLog.objects.get(merchant=merchant_a, action="merchant.suspended")
    assert entry.actor_email == staff_with_mfa.email
    assert entry.details == {"reason": "Chargeback fraud under review"}

    client.post(
        reverse("admin:tenants_merchant_reactivate", args=[merchant_a.pk]), {"reason": "Cleared"}
    )
    assert Merchant.objects.get(pk=merchant_a.pk).status == "active"
