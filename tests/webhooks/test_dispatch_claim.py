"""Claiming due deliveries: never more than asked for, whatever plan the statistics choose;
and a dispatcher handed more work than it has threads keeps serving (it once wedged on
`LIMIT -1` and delivered nothing more)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import delivery as delivery_module
from webhooks import dispatch
from webhooks.queue.models import DueDelivery

pytestmark = pytest.mark.django_db

SCHEMA = "m_claim_test"


def test_a_claim_takes_no_more_than_its_limit_whatever_plan_the_statistics_choose():
    # Statistics taken while the queue held one row (an idle queue, analysed by autovacuum)
    # made the planner rescan the old `id IN (SELECT … LIMIT 4 … SKIP LOCKED)` for every
    # outer row: each rescan skipped the rows the statement had just claimed, and 11 rows
    # were claimed for 4 free threads.
    now = timezone.now()
    DueDelivery.objects.create(schema_name=SCHEMA, delivery_id=1000, due_at=now)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DueDelivery._meta.db_table}")  # rolled back with the test
    DueDelivery.objects.bulk_create(
        DueDelivery(schema_name=SCHEMA, delivery_id=n, due_at=now) for n in range(10)
    )

    first = delivery_module.due_deliveries_claim(limit=4)
    second = delivery_module.due_deliveries_claim(limit=4)

    assert len(first) == len(second) == 4
    assert not set(first) & set(second)
    claimed = DueDelivery.objects.filter(schema_name=SCHEMA, enqueued_at__isnull=False)
    assert claimed.count() == 8


class _OverClaimingDispatcher(dispatch.Dispatcher):
    """Its first claim returns one row more than asked (as the old claim statement could)."""

    def __init__(self) -> None:
        super().__init__(threads=2, poll_seconds=0.05)
        self.limits: list[int] = []

    def _listen(self) -> None:  # no database needed for the loop itself
        pass

    def _beat(self) -> None:
        pass

    def _next_look_in(self) -> float:
        return 0.01

    def _wait(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _claim(self, limit: int) -> list[tuple[str, int]]:
        self.limits.append(limit)
        if len(self.limits) == 1:
            return [(SCHEMA, n) for n in range(limit + 1)]
        if len(self.limits) >= 3:
            self.stop()
        return []


def test_a_dispatcher_handed_more_rows_than_threads_keeps_claiming(monkeypatch):
    ran: list[int] = []
    release = threading.Event()

    def delivery_run(schema_name: str, delivery_id: int) -> str:
        release.wait(10)  # still in flight when the loop comes round again
        ran.append(delivery_id)
        return "succeeded"

    monkeypatch.setattr(dispatch, "delivery_run", delivery_run)
    dispatcher = _OverClaimingDispatcher()
    loop = threading.Thread(target=dispatcher._serve)
    loop.start()
    threading.Timer(0.3, release.set).start()
    loop.join(timeout=10)
    assert not loop.is_alive()
    dispatcher.pool.shutdown(wait=True)
    assert sorted(ran) == [0, 1, 2]
    # It waited for a thread instead of claiming with a limit of -1 (which PostgreSQL refuses,
    # over and over: nothing was delivered again).
    assert dispatcher.limits[1:] and min(dispatcher.limits) >= 1, dispatcher.limits
