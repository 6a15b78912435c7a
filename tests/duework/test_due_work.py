"""Periodic merchant work follows the public due-work index, never the merchant count."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from celery import signals
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import VoucherLiabilitySnapshot
from checkout.models import CheckoutSession
from checkout.sessions import checkout_session_create
from duework.kinds import CHECKOUT_EXPIRY, KINDS, LIABILITY_SNAPSHOT, VOUCHER_EXPIRY
from duework.models import DueWork
from duework.services import due_work_run, due_work_settle, due_work_tick
from superpayment.celery import app
from tenants.models import Merchant
from tests.helpers import committed
from tests.vouchers.support import voucher_events_purge, vouchers_purge
from vouchers.models import Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db(transaction=False)

# Merchants besides the two of the test session. The tick reads the due-work index only, so
# these are merchant rows (what the per-merchant fan-out iterated) without cloned schemas:
# provisioning measured 1.1-8.1 s each here (median 4.1 s over 20, in one test transaction on the
# shared 2-core machine), so 500 real clones would take over half an hour and prove nothing more.
# Were the tick to touch any of them, it would find no schema and fail.
IDLE_MERCHANTS = 500


@pytest.fixture(autouse=True)
def no_due_work_left_by_other_tests(merchant_a, merchant_b):
    """Other tests commit sessions and vouchers on the shared merchants, and with them due-work
    rows; each test here starts from an empty index for them."""
    schemas = [merchant_a.schema_name, merchant_b.schema_name]
    committed(lambda: DueWork.objects.filter(schema_name__in=schemas).delete())


class Published:
    """Every task message sent while in use (Celery's before_task_publish)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __enter__(self) -> Published:
        signals.before_task_publish.connect(self._record, weak=False)
        return self

    def __exit__(self, *exc) -> None:
        signals.before_task_publish.disconnect(self._record)

    def _record(self, sender=None, **kwargs) -> None:
        self.names.append(sender)


def _idle_merchants_create(count: int) -> list[int]:
    merchants = Merchant.objects.bulk_create(
        Merchant(
            schema_name=f"m_idle_{n}",
            slug=f"idle-{n}",
            name=f"Idle {n}",
            country="DE",
            default_currency="EUR",
        )
        for n in range(count)
    )
    return [merchant.pk for merchant in merchants]


@pytest.fixture
def idle_merchants(db):
    """500 committed merchants with nothing due, gone afterwards."""
    pks = committed(lambda: _idle_merchants_create(IDLE_MERCHANTS))
    yield pks
    committed(lambda: Merchant.objects.filter(pk__in=pks).delete())


@pytest.fixture(autouse=True)
def _tasks_registered():
    """Every tasks module imported, as in a worker (Celery discovers them lazily)."""
    app.loader.import_default_modules()


def _beat_run_everything() -> None:
    """Run every task beat schedules once, in this process, as beat's worker would."""
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        app.tasks[entry["task"]].apply()


def test_a_beat_cycle_with_every_merchant_idle_publishes_no_task(idle_merchants):
    with Published() as published:
        _beat_run_everything()
    assert published.names == []


def test_no_task_stores_a_result():
    ours = {
        name: task
        for name, task in app.tasks.items()
        if name.split(".")[0]
        in {"billing", "checkout", "duework", "tenants", "vouchers", "webhooks"}
    }
    assert "duework.tasks.tick" in ours
    stored = sorted(name for name, task in ours.items() if not task.ignore_result)
    assert stored == []


# --- writers keep the index -------------------------------------------------------------------


def _row(schema_name: str, kind: str) -> DueWork | None:
    return DueWork.objects.filter(schema_name=schema_name, kind=kind).first()


def test_a_session_schedules_its_expiry_and_only_ever_moves_it_earlier(in_merchant_a):
    now = timezone.now()
    later = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-1", source="server",
        expires_in=3600, now=now,
    )  # fmt: skip
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY).due_at == later.expires_at
    sooner = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-2", source="server",
        expires_in=600, now=now,
    )  # fmt: skip
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY).due_at == sooner.expires_at
    checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-3", source="server",
        expires_in=7200, now=now,
    )  # fmt: skip
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY).due_at == sooner.expires_at


def test_a_refused_session_leaves_no_due_work(in_merchant_a):
    with pytest.raises(Exception, match="amount"):
        checkout_session_create(
            livemode=False, amount=0, currency="EUR", order_id="DW-0", source="server"
        )
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY) is None


def test_a_live_voucher_schedules_its_expiry_and_tonights_liability_snapshot(in_merchant_a):
    expires_at = timezone.now() + datetime.timedelta(days=10)
    voucher_issue(currency="EUR", amount=500, livemode=True, expires_at=expires_at)
    assert _row(in_merchant_a.schema_name, VOUCHER_EXPIRY).due_at == expires_at
    slot = _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT).due_at
    assert slot.time() == datetime.time(2, 30)
    assert timezone.now() < slot <= timezone.now() + datetime.timedelta(days=1)


def test_a_test_mode_voucher_without_expiry_makes_no_due_work(in_merchant_a):
    voucher_issue(currency="EUR", amount=500, livemode=False)
    assert not DueWork.objects.filter(schema_name=in_merchant_a.schema_name).exists()


# --- the work and what remains --------------------------------------------------------------


def test_settling_moves_the_row_to_what_remains_and_drops_it_when_nothing_does(in_merchant_a):
    now = timezone.now()
    first = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-4", source="server",
        expires_in=300, now=now - datetime.timedelta(minutes=10),
    )  # fmt: skip
    second = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-5", source="server",
        expires_in=3600, now=now,
    )  # fmt: skip
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY).due_at == first.expires_at

    assert due_work_run(kind=CHECKOUT_EXPIRY) == second.expires_at

    first.refresh_from_db()
    assert first.status == CheckoutSession.Status.EXPIRED
    row = _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY)
    assert (row.due_at, row.leased_until) == (second.expires_at, None)
    CheckoutSession.objects.filter(pk=second.pk).update(status=CheckoutSession.Status.COMPLETED)
    assert due_work_settle(kind=CHECKOUT_EXPIRY) is None
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY) is None


def test_settling_locks_its_row_once(in_merchant_a):
    # The settle locks the row to wait for writers in flight; writing it back is by key, not a
    # second locking read (update_or_create's SELECT … FOR UPDATE).
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    session = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-6", source="server",
        expires_in=3600, now=now,
    )  # fmt: skip
    DueWork.objects.filter(schema_name=in_merchant_a.schema_name).update(due_at=now)

    with CaptureQueriesContext(connection) as captured:
        assert due_work_settle(kind=CHECKOUT_EXPIRY) == session.expires_at

    locking = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"].upper()]
    assert len(locking) == 1, locking
    row = _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY)
    assert (row.due_at, row.leased_until) == (session.expires_at, None)


def test_settling_a_merchant_without_a_row_inserts_it(in_merchant_a):
    now = timezone.now()
    session = checkout_session_create(
        livemode=False, amount=100, currency="EUR", order_id="DW-7", source="server",
        expires_in=3600, now=now,
    )  # fmt: skip
    DueWork.objects.filter(schema_name=in_merchant_a.schema_name).delete()

    assert due_work_settle(kind=CHECKOUT_EXPIRY) == session.expires_at
    assert _row(in_merchant_a.schema_name, CHECKOUT_EXPIRY).due_at == session.expires_at


def test_the_liability_snapshot_repeats_nightly_while_vouchers_are_outstanding(in_merchant_a):
    voucher = voucher_issue(currency="EUR", amount=700, livemode=True)
    slot = _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT).due_at

    due_work_run(kind=LIABILITY_SNAPSHOT)

    snapshot = VoucherLiabilitySnapshot.objects.get(merchant=in_merchant_a)
    assert (snapshot.currency, snapshot.outstanding) == ("EUR", 700)
    nxt = _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT).due_at
    assert nxt.time() == datetime.time(2, 30) and nxt >= slot
    # All spent: one more snapshot (of zeros), then the merchant leaves the index.
    Voucher.objects.filter(pk=voucher.pk).update(balance=0, status=Voucher.Status.EXHAUSTED)
    connection.set_schema(in_merchant_a.schema_name)
    due_work_run(kind=LIABILITY_SNAPSHOT)
    snapshot.refresh_from_db()
    assert snapshot.outstanding == 0
    assert _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT) is None


def test_the_daily_slot_is_the_next_one_after_now():
    kind = KINDS[LIABILITY_SNAPSHOT]
    at = datetime.datetime(2026, 12, 3, 1, 0, tzinfo=datetime.UTC)
    assert kind.next_slot(now=at) == datetime.datetime(2026, 12, 3, 2, 30, tzinfo=datetime.UTC)
    at = datetime.datetime(2026, 12, 3, 2, 30, tzinfo=datetime.UTC)
    assert kind.next_slot(now=at) == datetime.datetime(2026, 12, 4, 2, 30, tzinfo=datetime.UTC)


# --- no lost wake-up ----------------------------------------------------------------------------


def test_settling_waits_for_a_writer_in_flight_and_keeps_its_work(merchant_a):
    """A session committed while its merchant's row is settled keeps the row, due at its
    expiry, although the settle found nothing else left. The row was already due sooner, so the
    writer only locked it (key share): without that lock the settle would delete it."""
    schema = merchant_a.schema_name
    committed(
        lambda: DueWork.objects.create(
            schema_name=schema,
            kind=CHECKOUT_EXPIRY,
            due_at=timezone.now() - datetime.timedelta(hours=2),
        )
    )
    scheduled = threading.Event()
    sessions = []

    def writer() -> None:
        with transaction.atomic():
            sessions.append(
                checkout_session_create(
                    livemode=False, amount=100, currency="EUR", order_id="DW-RACE",
                    source="server", expires_in=3600,
                )
            )  # fmt: skip
            scheduled.set()
            time.sleep(0.5)  # the settle starts meanwhile, and must wait for this commit

    def settler() -> None:
        scheduled.wait(10)
        due_work_settle(kind=CHECKOUT_EXPIRY)

    try:
        thread = threading.Thread(target=lambda: committed(writer, schema))
        thread.start()
        committed(settler, schema)
        thread.join()
        row = committed(lambda: _row(schema, CHECKOUT_EXPIRY))
        assert row is not None
        assert row.due_at == sessions[0].expires_at
    finally:
        committed(_sessions_purge, schema)


# --- with a real worker ----------------------------------------------------------------------


def _sessions_purge() -> None:
    CheckoutSession.objects.all().delete()
    voucher_events_purge()
    DueWork.objects.filter(schema_name=connection.schema_name).delete()


def _result_keys() -> list[bytes]:
    from django.core.cache import caches

    client = caches["default"]._cache.get_client(write=True)
    return list(client.scan_iter(match="celery-task-meta-*", count=1000))


def _wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_a_due_session_in_one_of_500_merchants_expires_on_the_next_tick(
    celery_worker, idle_merchants, merchant_a
):
    schema = merchant_a.schema_name
    session = committed(
        lambda: checkout_session_create(
            livemode=False, amount=100, currency="EUR", order_id="DW-TICK", source="server",
            expires_in=300, now=timezone.now() - datetime.timedelta(minutes=6),
        ),
        schema,
    )  # fmt: skip
    try:
        with Published() as published:
            committed(due_work_tick)
        assert published.names == ["duework.tasks.run"]

        def expired() -> bool:
            with schema_context(schema):
                return CheckoutSession.objects.get(pk=session.pk).status == "expired"

        assert _wait_for(lambda: committed(expired))
        assert _wait_for(lambda: committed(lambda: _row(schema, CHECKOUT_EXPIRY)) is None)
        with Published() as published:
            committed(due_work_tick)
        assert published.names == []
        assert _result_keys() == []  # the worker ran the task and stored nothing in Redis
    finally:
        committed(_sessions_purge, schema)


def test_a_due_voucher_expires_on_the_next_tick(celery_worker, merchant_a, merchant_b):
    schema = merchant_a.schema_name
    expires_at = timezone.now() + datetime.timedelta(seconds=2)
    voucher = committed(
        lambda: voucher_issue(currency="EUR", amount=900, expires_at=expires_at), schema
    )
    kept = committed(
        lambda: voucher_issue(
            currency="EUR", amount=900, expires_at=expires_at + datetime.timedelta(days=1)
        ),
        schema,
    )

    def status(pk: int) -> str:
        with schema_context(schema):
            return Voucher.objects.get(pk=pk).status

    try:
        with Published() as published:
            committed(due_work_tick)
        assert published.names == []  # not due yet
        _wait_for(lambda: timezone.now() > expires_at, timeout=10)
        with Published() as published:
            committed(due_work_tick)
        assert published.names == ["duework.tasks.run"]
        assert _wait_for(lambda: committed(lambda: status(voucher.pk)) == "expired")
        assert committed(lambda: status(kept.pk)) == "active"
        assert _wait_for(
            lambda: committed(lambda: _row(schema, VOUCHER_EXPIRY)).due_at == kept.expires_at
        )
    finally:
        committed(vouchers_purge, schema)
        committed(lambda: DueWork.objects.filter(schema_name=schema).delete())


def test_rebuild_finds_the_work_a_merchant_already_has(in_merchant_a):
    from django.core.management import call_command

    voucher_issue(currency="EUR", amount=500, livemode=True)
    expires_at = timezone.now() + datetime.timedelta(days=3)
    voucher_issue(currency="EUR", amount=500, expires_at=expires_at)
    DueWork.objects.all().delete()  # as before the index existed

    call_command("due_work_rebuild", in_merchant_a.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115

    kinds = dict(
        DueWork.objects.filter(schema_name=in_merchant_a.schema_name).values_list("kind", "due_at")
    )
    assert kinds.keys() == {VOUCHER_EXPIRY, LIABILITY_SNAPSHOT}
    assert kinds[VOUCHER_EXPIRY] == expires_at


def test_migrations_are_current():
    from io import StringIO

    from django.core.management import call_command

    call_command("makemigrations", "duework", "--check", "--dry-run", stdout=StringIO())


def test_a_voucher_that_comes_back_to_life_is_due_again(in_merchant_a):
    """Enabling a disabled voucher and crediting an exhausted one make its expiry and the
    liability snapshot due again, after its merchant had left the index."""
    from vouchers.services import voucher_adjust, voucher_update

    expires_at = timezone.now() + datetime.timedelta(days=5)
    voucher = voucher_issue(currency="EUR", amount=400, livemode=True, expires_at=expires_at)
    voucher_update(voucher_id=voucher.public_id, livemode=True, status="disabled")
    DueWork.objects.all().delete()  # settled while nothing was active

    voucher_update(voucher_id=voucher.public_id, livemode=True, status="active")
    assert _row(in_merchant_a.schema_name, VOUCHER_EXPIRY).due_at == expires_at
    assert _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT) is not None

    voucher_adjust(
        voucher_id=voucher.public_id, amount=-400, reason="spent", actor=None, livemode=True
    )
    DueWork.objects.all().delete()
    voucher_adjust(
        voucher_id=voucher.public_id, amount=100, reason="goodwill", actor=None, livemode=True
    )
    assert _row(in_merchant_a.schema_name, VOUCHER_EXPIRY).due_at == expires_at
    assert _row(in_merchant_a.schema_name, LIABILITY_SNAPSHOT) is not None


def test_a_claim_leases_no_more_than_its_limit_whatever_plan_the_statistics_choose():
    # Statistics of a one-row index made the planner rescan `id IN (SELECT … LIMIT …)` per
    # outer row, each rescan skipping what the statement had just leased: 11 rows for 4.
    from duework.services import due_work_claim

    now = timezone.now()
    DueWork.objects.create(schema_name="m_claim_test", kind=CHECKOUT_EXPIRY, due_at=now)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DueWork._meta.db_table}")  # rolled back with the test
    DueWork.objects.bulk_create(
        DueWork(schema_name=f"m_claim_test_{n}", kind=CHECKOUT_EXPIRY, due_at=now)
        for n in range(10)
    )

    first = due_work_claim(now=now, limit=4)
    second = due_work_claim(now=now, limit=4)

    assert len(first) == len(second) == 4
    assert not set(first) & set(second)
