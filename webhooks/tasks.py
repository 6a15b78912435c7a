"""Celery entry points: one task per delivery attempt, and the beat-driven sweeper."""

from __future__ import annotations

from superpayment.celery import app

# Merchant schemas this worker process has already checked (see `deliver`).
_checked_schemas: set[str] = set()


# Acknowledged on receipt (not late): a lost message or a dead worker loses nothing, since the
# queue row stays until the attempt is recorded and the sweeper re-sends it once its lease has
# expired; acking early lets the worker fetch the next message while this one runs.
@app.task(name="webhooks.tasks.deliver", ignore_result=True, acks_late=False)
def deliver(schema_name: str, delivery_id: int) -> str:
    """Attempt one delivery if it is due and no other worker holds it. Idempotent: a duplicate
    message finds the delivery leased, done or not yet due, and does nothing.

    What `tenant_task` does, except that a schema is checked once per worker process rather than
    once per message (two round trips on the hottest task): an unknown or public schema is still
    refused, and a merchant's schema dropped later only makes the task fail on its tables."""
    from django_tenants.utils import schema_context

    from tenants.services import merchant_schema_assert_exists
    from webhooks.delivery import delivery_attempt

    if schema_name not in _checked_schemas:
        merchant_schema_assert_exists(schema_name=schema_name)
        _checked_schemas.add(schema_name)
    with schema_context(schema_name):
        return delivery_attempt(delivery_id=delivery_id)


@app.task(name="webhooks.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """Beat entry point: re-enqueue every delivery that is due and not in flight."""
    from webhooks.delivery import due_deliveries_sweep

    return due_deliveries_sweep()
