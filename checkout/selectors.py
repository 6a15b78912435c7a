"""Reads about checkout sessions that other apps need."""

from __future__ import annotations

import datetime

from checkout.models import CheckoutSession


def checkout_widget_used(*, livemode: bool | None = None) -> bool:
    """Whether the widget has opened a checkout on one of the active merchant's pages (in one
    mode, if given)."""
    sessions = CheckoutSession.objects.exclude(origin="")
    if livemode is not None:
        sessions = sessions.filter(livemode=livemode)
    return sessions.exists()


def checkout_expiry_next_due(*, now: datetime.datetime) -> datetime.datetime | None:
    """When the active merchant's next open session or voucher hold expires, if any
    (session_open_expiry_idx)."""
    from vouchers.selectors import voucher_holds_next_expiry

    session_expiry = (
        CheckoutSession.objects.filter(status=CheckoutSession.Status.OPEN)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )
    times = [t for t in (session_expiry, voucher_holds_next_expiry()) if t is not None]
    return min(times, default=None)
