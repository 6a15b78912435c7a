"""The account's Sessions page: a user's signed-in sessions with device, IP address and last
activity, the current one marked; "Sign out" per session and "Sign out everywhere else", each
audited; another user's session answers 404."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tenants.models import AuditLog
from tenants.sessions import ACTIVITY_INTERVAL_SECONDS, SEEN_SESSION_KEY, device_describe
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def signed_in(user, *, agent: str, ip: str) -> Client:
    """A browser signed in as `user` that has made one request (which records its session)."""
    browser = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    browser.force_login(user)
    assert browser.get(reverse("account_email")).status_code == 200
    return browser


def test_the_page_lists_each_session_with_device_ip_and_the_current_one_marked():
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    signed_in(user, agent=IPHONE, ip="203.0.113.9")
    signed_in(UserFactory(), agent=CHROME, ip="192.0.2.1")  # someone else's: never listed
    html = laptop.get(reverse("usersessions_list")).content.decode()
    assert html.count('<li class="session') == 2
    assert "Chrome 140 on Linux" in html and "Mobile Safari 17 on iOS (iPhone)" in html
    assert "198.51.100.7" in html and "203.0.113.9" in html and "192.0.2.1" not in html
    assert html.count("This browser") == 1
    current = html.index("This browser")
    assert html.index("Chrome 140 on Linux") < current < html.index("Mobile Safari")


def test_signing_out_another_session_ends_it_and_is_audited():
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    phone = signed_in(user, agent=IPHONE, ip="203.0.113.9")
    target = UserSession.objects.get(user=user, ip="203.0.113.9")
    done = laptop.post(reverse("usersession_end", args=[target.pk]))
    assert done.status_code == 302 and done.url == reverse("usersessions_list")
    assert not Session.objects.filter(session_key=target.session_key).exists()
    assert not UserSession.objects.filter(pk=target.pk).exists()
    # The phone is signed out at its next request; the laptop is not.
    assert phone.get(reverse("account_email")).status_code == 302
    assert laptop.get(reverse("account_email")).status_code == 200
    # Browser tests commit audit rows of their own users: read this user's only.
    entry = AuditLog.objects.get(action="user.session_ended", actor=user)
    assert (entry.actor_id, entry.ip_address) == (user.pk, "198.51.100.7")
    assert entry.details == {
        "ip": "203.0.113.9",
        "device": "Mobile Safari 17 on iOS (iPhone)",
        "current": False,
    }


def test_signing_out_the_current_session_signs_this_browser_out():
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    own = UserSession.objects.get(user=user)
    done = laptop.post(reverse("usersession_end", args=[own.pk]))
    assert done.status_code == 302 and done.url == reverse("account_login")
    assert laptop.get(reverse("account_email")).status_code == 302
    entry = AuditLog.objects.get(action="user.session_ended", actor=user)
    assert entry.details["current"] is True


def test_another_users_session_answers_404_and_stays():
    stranger = signed_in(UserFactory(), agent=CHROME, ip="192.0.2.1")
    theirs = UserSession.objects.get(ip="192.0.2.1")
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    assert laptop.post(reverse("usersession_end", args=[theirs.pk])).status_code == 404
    assert stranger.get(reverse("account_email")).status_code == 200
    assert not AuditLog.objects.filter(action="user.session_ended", actor=user).exists()


def test_sign_out_everywhere_else_keeps_only_this_browser():
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    others = [signed_in(user, agent=IPHONE, ip=f"203.0.113.{n}") for n in (1, 2)]
    bystander = signed_in(UserFactory(), agent=CHROME, ip="192.0.2.1")
    done = laptop.post(reverse("usersessions_end_others"))
    assert done.status_code == 302
    assert [browser.get(reverse("account_email")).status_code for browser in others] == [302, 302]
    assert laptop.get(reverse("account_email")).status_code == 200
    assert bystander.get(reverse("account_email")).status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("ip", flat=True)) == [
        "198.51.100.7"
    ]
    entry = AuditLog.objects.get(action="user.other_sessions_ended", actor=user)
    assert entry.details["count"] == 2
    assert sorted(s["ip"] for s in entry.details["sessions"]) == ["203.0.113.1", "203.0.113.2"]


def test_last_activity_is_written_at_most_once_a_minute():
    user = UserFactory()
    laptop = signed_in(user, agent=CHROME, ip="198.51.100.7")
    seen = UserSession.objects.get(user=user).last_seen_at
    laptop.get(reverse("account_email"))
    assert UserSession.objects.get(user=user).last_seen_at == seen  # within the minute
    # A minute later (the session's mark moved back), the next request records the activity.
    session = laptop.session
    session[SEEN_SESSION_KEY] -= ACTIVITY_INTERVAL_SECONDS
    session.save()
    laptop.get(reverse("account_email"))
    assert UserSession.objects.get(user=user).last_seen_at > seen


def test_device_names_read_like_a_person_would_say_them():
    assert device_describe(CHROME) == "Chrome 140 on Linux"
    assert device_describe("") == "Unknown device"
    assert device_describe("something/1.0") == "Unknown browser"
