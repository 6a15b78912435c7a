"""Celery entry points: one task per delivery attempt, and the beat-driven sweeper."""

from __future__ import annotations

from superpayment.celery import app, tenant_task


# Acknowledged on receipt (not late): a lost message or a dead worker loses nothing, since the
# queue row stays until the attempt is recorded and the sweeper re-sends it once its lease has
# expired; acking early lets the worker fetch the next message while this one runs.
@tenant_task(name="webhooks.tasks.deliver", ignore_result=True, acks_late=False)
def deliver(delivery_id: int) -> str:
    """Attempt one delivery if it is due and no other worker holds it. Idempotent: a duplicate
    message finds the delivery leased, done or not yet due, and does nothing."""
    from webhooks.delivery import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)


@app.task(name="webhooks.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """Beat entry point: re-enqueue every delivery that is due and not in flight."""
    from webhooks.delivery import due_deliveries_sweep

    return due_deliveries_sweep()
