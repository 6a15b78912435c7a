"""Platform staff: superusers grant the console groups in the admin console (audited); staff
land on their consoles; every refusal says why on a styled page."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.urls import reverse

from tenants.models import AuditLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _with_mfa(user):
    TOTP.activate(user, generate_totp_secret())
    return user


def test_a_superuser_grants_finance_and_it_is_audited(client):
    admin = _with_mfa(UserFactory(is_staff=True, is_superuser=True))
    clerk = _with_mfa(UserFactory(email="clerk@superpayment.example"))
    finance = Group.objects.get(name="finance")
    client.force_login(admin)
    listing = client.get(reverse("admin:tenants_staffuser_changelist")).content.decode()
    assert "clerk@superpayment.example" in listing
    url = reverse("admin:tenants_staffuser_change", args=[clerk.pk])
    response = client.post(url, {"is_staff": "on", "is_active": "on", "groups": [finance.pk]})
    assert response.status_code == 302, response.content.decode()[:3000]
    clerk.refresh_from_db()
    assert clerk.is_staff and list(clerk.groups.values_list("name", flat=True)) == ["finance"]
    row = AuditLog.objects.get(action="staff.access_changed", target_id=str(clerk.pk))
    assert (row.actor_id, row.details["groups_added"]) == (admin.pk, ["finance"])
    assert row.details["from"]["is_staff"] is False and row.details["to"]["is_staff"] is True
    client.force_login(clerk)
    assert client.get(reverse("finance_home")).status_code == 200


def test_platform_admins_see_staff_users_but_only_superusers_change_them(client):
    platform_admin = _with_mfa(UserFactory(is_staff=True))
    platform_admin.groups.add(Group.objects.get(name="platform admin"))
    someone = UserFactory()
    client.force_login(platform_admin)
    url = reverse("admin:tenants_staffuser_change", args=[someone.pk])
    assert client.get(reverse("admin:tenants_staffuser_changelist")).status_code == 200
    client.post(url, {"is_staff": "on", "is_active": "on"})
    someone.refresh_from_db()
    assert not someone.is_staff
    assert not AuditLog.objects.filter(
        action="staff.access_changed", target_id=str(someone.pk)
    ).exists()


def test_staff_without_the_group_get_a_page_that_says_why(client):
    client.force_login(_with_mfa(UserFactory(is_staff=True, is_superuser=True)))
    response = client.get(reverse("finance_home"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "finance group" in html and "<h1>" in html and "site.css" in html


def test_staff_without_two_factors_are_sent_to_set_them_up_and_back(client):
    from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time

    clerk = UserFactory(is_staff=True)
    clerk.groups.add(Group.objects.get(name="finance"))
    client.force_login(clerk)
    response = client.get(reverse("finance_invoices"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp") + "?next=")
    client.post(reverse("account_reauthenticate"), {"password": "correct horse battery"})
    page = client.get(response["Location"])
    secret = page.context["form"].secret
    code = f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"
    done = client.post(reverse("mfa_activate_totp"), {"code": code})
    codes_page = client.get(done["Location"]).content.decode()
    assert reverse("mfa_continue") in codes_page
    back = client.get(reverse("mfa_continue"))
    assert back["Location"] == reverse("finance_invoices")
    assert client.get(back["Location"]).status_code == 200


def test_next_must_stay_on_this_site(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": "correct horse battery"})
    client.get(reverse("mfa_activate_totp") + "?next=https://evil.example/")
    assert client.get(reverse("mfa_continue"))["Location"] == reverse("mfa_index")


def test_staff_land_on_their_consoles_not_on_create_your_business(client):
    clerk = _with_mfa(UserFactory(is_staff=True))
    clerk.groups.add(Group.objects.get(name="finance"))
    client.force_login(clerk)
    page = client.get(reverse("portal:home"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Finance console" in html and "Admin console" in html
    assert "Create your business" not in html


def test_styled_404_outside_debug(client, owner_a):
    client.force_login(owner_a)
    response = client.get("/dashboard/no-such-business/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We can't find that page" in html and "site.css" in html
    assert "URLconf" not in html and "Traceback" not in html


def test_createsuperuser_accounts_sign_in_without_confirming_an_email(client, monkeypatch):
    from allauth.account.models import EmailAddress
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long passphrase 4 root")
    call_command("createsuperuser", email="root@superpayment.example", interactive=False)
    assert EmailAddress.objects.get(email="root@superpayment.example").verified
    response = client.post(
        reverse("account_login"),
        {"login": "root@superpayment.example", "password": "a long passphrase 4 root"},
    )
    assert response.status_code == 302 and "confirm-email" not in response["Location"]
