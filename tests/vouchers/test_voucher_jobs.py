"""Bulk issue jobs: batches that commit with their progress, resumable, run by a real worker."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from tests.helpers import committed
from tests.vouchers.api_support import api_client
from tests.vouchers.support import api_key_purge, vouchers_purge
from vouchers.job_models import VoucherJob
from vouchers.jobs import voucher_job_create, voucher_job_run
from vouchers.models import Voucher, VoucherLedgerEntry

pytestmark = pytest.mark.django_db


def test_a_job_issues_in_batches_and_running_it_again_changes_nothing(in_merchant_a):
    job = voucher_job_create(count=7, currency="EUR", amount=300, prefix="JOB")

    done = voucher_job_run(job_pk=job.pk, batch_size=3)
    again = voucher_job_run(job_pk=job.pk, batch_size=3)

    assert (done.status, done.issued_count, done.count) == ("succeeded", 7, 7)
    assert again.issued_count == 7
    vouchers = Voucher.objects.filter(job_id=job.public_id)
    assert vouchers.count() == 7
    assert all(v.code.startswith("JOB") and v.balance == 300 for v in vouchers)
    assert VoucherLedgerEntry.objects.filter(voucher__job_id=job.public_id).count() == 7
    assert done.started_at is not None and done.finished_at is not None


def test_a_job_resumes_where_a_dead_run_stopped(in_merchant_a):
    job = voucher_job_create(count=5, currency="EUR", amount=300)
    VoucherJob.objects.filter(pk=job.pk).update(status="running")
    voucher_job_run(job_pk=job.pk, batch_size=2)
    assert VoucherJob.objects.get(pk=job.pk).issued_count == 5
    assert Voucher.objects.filter(job_id=job.public_id).count() == 5


def _wait_for(fn, *, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_large_bulk_issue_runs_as_a_job_on_the_worker(celery_worker, merchant_a):
    def make_client():
        return api_client(merchant_a)

    client = committed(make_client)
    try:
        accepted = committed(
            lambda: client.post(
                "/v1/vouchers/bulk",
                {"count": 1001, "currency": "EUR", "amount": 1500},
                format="json",
                HTTP_IDEMPOTENCY_KEY="bulk-1",
            )
        )
        assert accepted.status_code == 202
        job = accepted.json()
        assert (job["object"], job["count"], job["status"]) == ("voucher_job", 1001, "queued")

        def finished():
            body = committed(lambda: client.get(f"/v1/voucher_jobs/{job['id']}")).json()
            return body if body["status"] in ("succeeded", "failed") else None

        final = _wait_for(finished)
        assert final is not None, "the job did not finish"
        assert (final["status"], final["issued_count"]) == ("succeeded", 1001)
        first = committed(lambda: client.get(f"/v1/voucher_jobs/{job['id']}/codes?limit=100"))
        assert len(first.json()["data"]) == 100
        assert first.json()["has_more"] is True
        listed = committed(lambda: client.get(f"/v1/vouchers?job={job['id']}&limit=100")).json()
        assert len(listed["data"]) == 100
        replay = committed(
            lambda: client.post(
                "/v1/vouchers/bulk",
                {"count": 1001, "currency": "EUR", "amount": 1500},
                format="json",
                HTTP_IDEMPOTENCY_KEY="bulk-1",
            )
        )
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == job["id"]
    finally:

        def cleanup():
            with schema_context(merchant_a.schema_name):
                vouchers_purge()
                VoucherJob.objects.all().delete()
            from tenants.models import IdempotencyKey

            IdempotencyKey.objects.filter(merchant=merchant_a, key="bulk-1").delete()
            api_key_purge(client.key)

        committed(cleanup)
