"""Helpers for the vouchers API tests: secret keys and an authenticated client."""

from __future__ import annotations

from rest_framework.test import APIClient

from tenants.keys import api_key_create
from tests.factories import UserFactory


def api_client(merchant, *, mode: str = "test") -> APIClient:
    owner = UserFactory()
    _key, raw = api_key_create(
        merchant=merchant, kind="secret", mode=mode, name="Backend", actor=owner
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    client.key = _key
    return client
