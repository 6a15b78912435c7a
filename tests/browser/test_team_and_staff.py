"""Two journeys that used to break, in headless Chromium against a real gunicorn: an invitee
signs up from the emailed link and is in the team; a platform admin grants the finance console
to a colleague in the admin console."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import read_mail_to
from tests.helpers import committed

pytestmark = pytest.mark.django_db
PASSWORD = "a long passphrase 4 shops"


@pytest.fixture
def team_shop(live_url, django_db_blocker):
    from tenants.models import Merchant
    from tenants.services import provision_merchant
    from tests.factories import MembershipFactory, UserFactory

    slug = f"team-shop-{time.time_ns() % 10**9}"

    def make():
        merchant = provision_merchant(
            slug=slug, name="Team Shop", country="DE", default_currency="EUR"
        ).merchant
        owner = UserFactory(email=f"owner-{time.time_ns()}@team-shop.example")
        MembershipFactory(merchant=merchant, user=owner, role="owner")
        return merchant, owner

    with django_db_blocker.unblock():
        merchant, owner = committed(make)
        yield merchant, owner
        committed(lambda: Merchant.objects.get(pk=merchant.pk).delete(force_drop=True))


def test_an_invitee_signs_up_from_the_link_and_is_in_the_team(page, live_url, mail_dir, team_shop):
    from tenants.models import Membership

    merchant, owner = team_shop
    invitee = f"new-{time.time_ns()}@team-shop.example"
    page.goto(live_url + "/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_url}/dashboard/{merchant.slug}/team/")
    page.get_by_label("Email", exact=True).fill(invitee)
    page.get_by_label("Role", exact=True).select_option("developer")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text(invitee).first.wait_for()
    page.context.clear_cookies()  # the invitee, in their own browser

    link = re.search(r"(http://\S+/invitations/\S+/)", read_mail_to(mail_dir, invitee)).group(1)
    page.goto(link)
    page.get_by_role("link", name=f"Sign up as {invitee}").click()
    assert page.get_by_label("Email").input_value() == invitee  # filled in
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Overview").wait_for()
    assert page.url.endswith(f"/dashboard/{merchant.slug}/")
    role = committed(
        lambda: Membership.objects.get(merchant_id=merchant.pk, user__email=invitee).role
    )
    assert role == "developer"


def test_a_platform_admin_grants_finance_in_the_admin_console(page, live_url, django_db_blocker):
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    from tenants.models import AuditLog, User
    from tests.factories import UserFactory

    stamp = time.time_ns()
    secret = generate_totp_secret()

    def make():
        admin = UserFactory(
            email=f"root-{stamp}@superpayment.example", is_staff=True, is_superuser=True
        )
        TOTP.activate(admin, secret)
        clerk = UserFactory(email=f"clerk-{stamp}@superpayment.example")
        return admin, clerk

    with django_db_blocker.unblock():
        admin, clerk = committed(make)
    page.goto(live_url + "/admin/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    code = f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"
    page.get_by_placeholder("Code").fill(code)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Staff users").first.click()
    page.get_by_role("link", name=clerk.email).click()
    page.get_by_label("Staff status").check()
    page.get_by_label("finance").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()

    def granted():
        user = User.objects.get(pk=clerk.pk)
        audited = AuditLog.objects.filter(
            action="staff.access_changed", target_id=str(clerk.pk), actor_id=admin.pk
        ).exists()
        return user.is_staff, list(user.groups.values_list("name", flat=True)), audited

    with django_db_blocker.unblock():
        assert committed(granted) == (True, ["finance"], True)
