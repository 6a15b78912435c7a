"""Beat's entry point into periodic merchant work, and the per-merchant task it sends."""

from __future__ import annotations

from superpayment.celery import app, tenant_task


@app.task(name="duework.tasks.tick")
def tick() -> int:
    """Every 30 s: a task for each merchant and kind with work due, none for the others."""
    from duework.services import due_work_tick

    return due_work_tick()


@tenant_task(name="duework.tasks.run")
def run(kind: str) -> None:
    """One merchant's due work of one kind, then its next due time. Idempotent."""
    from duework.services import due_work_run

    due_work_run(kind=kind)
