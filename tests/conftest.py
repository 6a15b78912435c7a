"""Test session: real PostgreSQL (its own test database) and Redis, started by `make test`.

One template schema and two merchants are provisioned once per session and committed; each test
runs in a transaction that is rolled back, so tests see those merchants and nothing of each other.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Merchant
from tenants.services import merchant_template_ensure, provision_merchant

MERCHANT_A = {
    "slug": "test-alpha",
    "name": "Alpha Test Shop",
    "country": "DE",
    "default_currency": "EUR",
}
MERCHANT_B = {
    "slug": "test-beta",
    "name": "Beta Test Shop",
    "country": "FR",
    "default_currency": "EUR",
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        merchant_template_ensure()
        # Both take live payments in many tests: live mode is activated for them, as for a
        # merchant that went through activation (tests/tenants/test_live_activation.py starts
        # from a merchant that has not).
        # (Set directly: no audit row, so tests of the audit trail start from an empty one.)
        for merchant in (MERCHANT_A, MERCHANT_B):
            provision_merchant(**merchant)
        Merchant.objects.filter(slug__in=[MERCHANT_A["slug"], MERCHANT_B["slug"]]).update(
            live_activated_at=timezone.now()
        )


@pytest.fixture
def merchant_a(db) -> Merchant:
    return Merchant.objects.get(slug=MERCHANT_A["slug"])


@pytest.fixture
def merchant_b(db) -> Merchant:
    return Merchant.objects.get(slug=MERCHANT_B["slug"])


@pytest.fixture
def in_merchant_a(merchant_a):
    """Run the test body inside merchant A's schema."""
    with schema_context(merchant_a.schema_name):
        yield merchant_a
    connection.set_schema_to_public()


@pytest.fixture(scope="session")
def test_database_url(django_db_setup) -> str:
    """DATABASE_URL of the test database, for processes the tests start (workers, servers)."""
    settings_dict = connection.settings_dict
    return (
        f"postgresql://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}"
        f"@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )


@pytest.fixture(scope="session")
def celery_worker(test_database_url):
    """A real Celery worker process on the test database and the test Redis."""
    from tests.processes import CeleryWorker

    worker = CeleryWorker(database_url=test_database_url)
    worker.start()
    yield worker
    worker.stop()


def member_of(merchant: Merchant, role: str):
    from tests.factories import MembershipFactory

    return MembershipFactory(merchant=merchant, role=role).user


@pytest.fixture
def owner_a(merchant_a):
    return member_of(merchant_a, "owner")


@pytest.fixture
def owner_b(merchant_b):
    return member_of(merchant_b, "owner")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Redis outlives each test's rolled-back transaction: start every test with allauth's
    rate-limit counters at zero (the broker's keys in the same Redis are left alone)."""
    from django.core.cache import caches

    client = caches["default"]._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*allauth:rl:*", count=1000))
    if keys:
        client.delete(*keys)
