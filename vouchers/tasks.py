from __future__ import annotations

from superpayment.celery import app, tenant_task
from tenants.selectors import merchant_schema_names
from vouchers.services import voucher_expire_due


@tenant_task(name="vouchers.tasks.expire_due")
def expire_due() -> int:
    return voucher_expire_due()


@app.task(name="vouchers.tasks.expire_due_all_merchants")
def expire_due_all_merchants() -> int:
    """Beat entry point: one expiry task per merchant, each inside that merchant's schema."""
    schemas = merchant_schema_names()
    for schema_name in schemas:
        expire_due.delay(schema_name)
    return len(schemas)


@tenant_task(name="vouchers.tasks.voucher_job_run")
def voucher_job_run_task(job_pk: int) -> int:
    from vouchers.jobs import voucher_job_run

    return voucher_job_run(job_pk=job_pk).issued_count
