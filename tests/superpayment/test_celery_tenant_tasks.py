"""Tasks carry their merchant's schema and run inside it, in a real worker process."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from duework.kinds import VOUCHER_EXPIRY
from duework.models import DueWork
from duework.tasks import run
from tests.helpers import committed
from tests.vouchers.support import vouchers_purge
from vouchers.models import Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db


def _issue_expired(code: str) -> int:
    voucher = voucher_issue(
        code=code,
        currency="EUR",
        amount=2500,
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    # Issuing refuses a past expiry; let the clock run past it instead.
    Voucher.objects.filter(pk=voucher.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    return voucher.pk


def _voucher_state(pk: int) -> tuple[str, int, int]:
    voucher = Voucher.objects.get(pk=pk)
    return voucher.status, voucher.balance, voucher.ledger_entries.count()


@pytest.fixture
def expired_voucher_in_each_merchant(merchant_a, merchant_b):
    pk_a = committed(lambda: _issue_expired("WORKERTESTA1"), merchant_a.schema_name)
    pk_b = committed(lambda: _issue_expired("WORKERTESTB1"), merchant_b.schema_name)
    yield pk_a, pk_b
    committed(vouchers_purge, merchant_a.schema_name)
    committed(vouchers_purge, merchant_b.schema_name)
    committed(lambda: DueWork.objects.filter(kind=VOUCHER_EXPIRY).delete())


def _wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_worker_runs_task_inside_the_named_merchant_schema(
    celery_worker, merchant_a, merchant_b, expired_voucher_in_each_merchant
):
    pk_a, pk_b = expired_voucher_in_each_merchant

    run.delay(merchant_a.schema_name, VOUCHER_EXPIRY)  # stores no result: watch the rows

    assert _wait_for(
        lambda: committed(lambda: _voucher_state(pk_a), merchant_a.schema_name)[0] == "expired"
    )
    status_a = committed(lambda: _voucher_state(pk_a), merchant_a.schema_name)
    status_b = committed(lambda: _voucher_state(pk_b), merchant_b.schema_name)
    assert status_a == ("expired", 0, 2)  # issue + expiry entries, balance gone
    assert status_b == ("active", 2500, 1)  # the other merchant's voucher is untouched


def test_worker_refuses_a_schema_that_is_no_merchant():
    """tenant_task's guard, run eagerly (the task stores no result for a worker to report)."""
    result = run.apply(("public", VOUCHER_EXPIRY))
    with pytest.raises(Exception, match="No merchant schema named 'public'"):
        result.get()
