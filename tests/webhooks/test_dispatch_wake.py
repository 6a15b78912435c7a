"""The dispatcher is woken by the transaction that records an event, when it commits: a
NOTIFY on `webhooks_due`, sent by PostgreSQL at commit and never for a rolled-back change."""

from __future__ import annotations

import psycopg
import pytest
from django.db import transaction

from tests.helpers import committed
from tests.webhooks.conftest import _wipe
from webhooks.dispatch import CHANNEL
from webhooks.endpoints import endpoint_create
from webhooks.queue.models import DueDelivery
from webhooks.services import event_record

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def listener(test_database_url):
    with psycopg.connect(test_database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def _notified(conn) -> int:
    return len(list(conn.notifies(timeout=1)))


def _record(*, roll_back: bool) -> None:
    with transaction.atomic():
        for n in range(3):  # three events in one transaction: one notification
            event_record(
                event_type="payment.succeeded",
                data_object={"id": f"pay_{n}", "object": "payment", "version": 1},
                livemode=False,
            )
        if roll_back:
            raise Rollback


def test_a_committed_event_wakes_the_dispatcher_once_and_a_rolled_back_one_never(
    merchant_a, listener, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    schema = merchant_a.schema_name
    committed(
        lambda: endpoint_create(url="http://127.0.0.1:9/", enabled_events=["*"], livemode=False),
        schema,
    )
    try:
        with pytest.raises(Rollback):
            committed(lambda: _record(roll_back=True), schema)
        assert _notified(listener) == 0

        committed(lambda: _record(roll_back=False), schema)
        assert _notified(listener) == 1
    finally:
        committed(_wipe, schema)
        committed(lambda: DueDelivery.objects.filter(schema_name=schema).delete())
