"""Billing tasks: thin wrappers that fetch by id and call one service. Each is idempotent."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from billing.errors import BillingError
from superpayment.celery import app
from tenants.models import User


@app.task(name="billing.tasks.invoice_run_previous_month")
def invoice_run_previous_month() -> dict:
    """Beat, 1st of each month (UTC): bill the month that just ended."""
    from billing.invoicing import invoice_run, period_previous

    result = invoice_run(period_start=period_previous(timezone.now().date()))
    return {"finalized": result.finalized, "entries": result.entries_attached}


@app.task(name="billing.tasks.invoice_run_period")
def invoice_run_period(period_start: str, actor_id: int | None = None) -> dict:
    """Finance's "run now" for a past period."""
    from billing.invoicing import invoice_run

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    result = invoice_run(period_start=date.fromisoformat(period_start), actor=actor)
    return {"finalized": result.finalized, "entries": result.entries_attached}


@app.task(
    name="billing.tasks.invoice_send",
    bind=True,
    max_retries=8,
    autoretry_for=(BillingError,),
    retry_backoff=60,
    retry_backoff_max=3600,
)
def invoice_send(self, invoice_id: int) -> str:
    from billing.stripe_sync import invoice_send as send

    return send(invoice_id=invoice_id).stripe_state
