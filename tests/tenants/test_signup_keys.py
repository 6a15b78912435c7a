"""A new business gets its test publishable and secret keys at creation; the secret is shown
once, on the first visit of the overview, and only its digest is kept."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tenants import team
from tenants.keys import api_key_hash
from tenants.models import ApiKey, AuditLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DETAILS = {"name": "Tea House", "slug": "tea-house", "country": "GB", "default_currency": "GBP"}


def test_a_new_business_has_test_keys_and_no_live_mode():
    result = team.business_create(owner=UserFactory(), **DETAILS)

    created = ApiKey.objects.filter(merchant=result.merchant)
    assert sorted((key.kind, key.mode) for key in created) == [
        ("publishable", "test"),
        ("secret", "test"),
    ]
    assert re.fullmatch(r"sk_test_[0-9A-Za-z]{32}", result.test_secret)
    assert result.test_secret_key.key_hash == api_key_hash(result.test_secret)
    assert not result.merchant.live_activated
    assert AuditLog.objects.filter(merchant=result.merchant, action="api_key.created").count() == 2
    # The secret works at once, in test mode.
    response = APIClient().get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {result.test_secret}")
    assert (response.status_code, response.json()["livemode"]) == (200, False)
    # A double submit makes no more keys.
    again = team.business_create(owner=result.merchant.memberships.get().user, **DETAILS)
    assert not again.created and again.test_secret is None
    assert ApiKey.objects.filter(merchant=result.merchant).count() == 2


def test_the_first_overview_shows_the_secret_once(client):
    owner = UserFactory()
    client.force_login(owner)

    response = client.post(reverse("portal:business_create"), DETAILS)
    overview = reverse("portal:overview", kwargs={"slug": DETAILS["slug"]})
    assert response.status_code == 302 and response["Location"] == overview

    first = client.get(overview).content.decode()
    secret = re.search(r'id="new-secret-key">(sk_test_\w+)<', first).group(1)
    key = ApiKey.objects.get(merchant__slug=DETAILS["slug"], kind="secret")
    assert key.key_hash == api_key_hash(secret)
    publishable = ApiKey.objects.get(merchant__slug=DETAILS["slug"], kind="publishable")
    assert publishable.publishable_key in first
    second = client.get(overview).content.decode()
    assert secret not in second and 'id="new-keys"' not in second
