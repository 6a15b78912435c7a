from __future__ import annotations

from superpayment.celery import app, tenant_task
from tenants.selectors import merchant_schema_names


@tenant_task(name="checkout.tasks.expire_sessions")
def expire_sessions() -> int:
    from checkout.sessions import checkout_sessions_expire_due
    from vouchers.holds import voucher_holds_purge_expired

    expired = checkout_sessions_expire_due()
    voucher_holds_purge_expired()
    return expired


@app.task(name="checkout.tasks.expire_sessions_all_merchants")
def expire_sessions_all_merchants() -> int:
    """Beat entry point: one expiry task per merchant, each inside that merchant's schema."""
    schemas = merchant_schema_names()
    for schema_name in schemas:
        expire_sessions.delay(schema_name)
    return len(schemas)
