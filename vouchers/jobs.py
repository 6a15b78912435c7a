"""Bulk issue jobs: more vouchers than an API request should wait for are issued by a Celery
task, in batches that each commit with the job's progress, so the job resource shows how far it
got, and a task that runs twice (acks_late) continues where the first stopped."""

from __future__ import annotations

import datetime
from typing import Any

import structlog
from django.db import connection, transaction
from django.utils import timezone

from vouchers.codes import DEFAULT_RANDOM_LENGTH
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.issuing import voucher_issue_bulk_terms, vouchers_insert_generated
from vouchers.job_models import VoucherJob

log = structlog.get_logger(__name__)

JOB_BATCH_SIZE = 2_000


def _terms_to_json(terms: dict[str, Any], *, prefix: str, length: int) -> dict[str, Any]:
    stored = dict(terms, prefix=prefix, length=length)
    for key in ("valid_from", "expires_at"):
        stored[key] = stored[key].isoformat() if stored[key] else None
    return stored


def _terms_from_json(stored: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    terms = dict(stored)
    prefix, length = terms.pop("prefix"), terms.pop("length")
    for key in ("valid_from", "expires_at"):
        terms[key] = datetime.datetime.fromisoformat(terms[key]) if terms[key] else None
    return terms, prefix, length


@transaction.atomic
def voucher_job_create(
    *,
    count: int,
    currency: str,
    amount: int,
    livemode: bool = False,
    prefix: str = "",
    length: int = DEFAULT_RANDOM_LENGTH,
    valid_from: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    rules: dict | None = None,
    metadata: dict | None = None,
    created_by: int | None = None,
) -> VoucherJob:
    """Validate the terms now (so a bad request fails at once) and queue the job."""
    terms = voucher_issue_bulk_terms(
        count=count,
        prefix=prefix,
        length=length,
        currency=currency,
        amount=amount,
        livemode=livemode,
        valid_from=valid_from,
        expires_at=expires_at,
        rules=rules,
        metadata=metadata,
        created_by=created_by,
    )
    job = VoucherJob.objects.create(
        livemode=livemode,
        count=count,
        terms=_terms_to_json(terms, prefix=prefix, length=length),
        created_by=created_by,
    )
    schema_name = connection.schema_name
    transaction.on_commit(lambda: _enqueue(schema_name, job.pk))
    return job


def _enqueue(schema_name: str, job_pk: int) -> None:
    from vouchers.tasks import voucher_job_run_task

    voucher_job_run_task.delay(schema_name, job_pk)


def _batch_issue(job_pk: int, *, batch_size: int) -> bool:
    """Issue the job's next batch; returns False when there is nothing left to do."""
    with transaction.atomic():
        job = VoucherJob.objects.select_for_update().get(pk=job_pk)
        if job.status in (VoucherJob.Status.SUCCEEDED, VoucherJob.Status.FAILED):
            return False
        now = timezone.now()
        if job.status == VoucherJob.Status.QUEUED:
            job.status, job.started_at = VoucherJob.Status.RUNNING, now
        remaining = job.count - job.issued_count
        if remaining > 0:
            terms, prefix, length = _terms_from_json(job.terms)
            issued = vouchers_insert_generated(
                count=min(batch_size, remaining),
                prefix=prefix,
                length=length,
                terms=terms,
                job_id=job.public_id,
                events=False,
            )
            job.issued_count += len(issued)
        if job.issued_count >= job.count:
            job.status, job.finished_at = VoucherJob.Status.SUCCEEDED, now
        job.save(update_fields=["status", "started_at", "issued_count", "finished_at"])
        return job.status == VoucherJob.Status.RUNNING


def voucher_job_run(*, job_pk: int, batch_size: int = JOB_BATCH_SIZE) -> VoucherJob:
    """Run (or resume) a job to its end. A refusal (no free codes left) fails the job and keeps
    what was issued; running a finished job changes nothing."""
    try:
        while _batch_issue(job_pk, batch_size=batch_size):
            pass
    except VoucherError as exc:
        VoucherJob.objects.filter(pk=job_pk).update(
            status=VoucherJob.Status.FAILED, error=exc.message[:500], finished_at=timezone.now()
        )
        log.warning("voucher_job_failed", job_pk=job_pk, code=str(exc.code))
    job = VoucherJob.objects.get(pk=job_pk)
    log.info("voucher_job_finished", job_id=job.public_id, issued=job.issued_count)
    return job


def voucher_job_get(*, public_id: str, livemode: bool) -> VoucherJob:
    job = VoucherJob.objects.filter(public_id=public_id, livemode=livemode).first()
    if job is None:
        raise VoucherError(VoucherErrorCode.JOB_NOT_FOUND, "No such voucher job.", param="job_id")
    return job
