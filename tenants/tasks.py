"""Periodic housekeeping of the shared (public) schema."""

from __future__ import annotations

from superpayment.celery import app


@app.task(name="tenants.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    from superpayment.api.idempotency import idempotency_keys_purge as purge

    return purge()
