from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_code_counters():
    """Wrong-code counters live in Redis, which outlives each test's rolled-back transaction."""
    from django.core.cache import caches

    client = caches["global"]._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*voucher_code_failures:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def pk_a(merchant_a):
    from tests.checkout.support import publishable_key

    return publishable_key(merchant_a)
