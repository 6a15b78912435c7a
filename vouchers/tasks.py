from __future__ import annotations

from superpayment.celery import tenant_task


@tenant_task(name="vouchers.tasks.voucher_job_run")
def voucher_job_run_task(job_pk: int) -> int:
    from vouchers.jobs import voucher_job_run

    return voucher_job_run(job_pk=job_pk).issued_count
