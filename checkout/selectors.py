"""Reads about checkout sessions that other apps need."""

from __future__ import annotations

from checkout.models import CheckoutSession


def checkout_widget_used() -> bool:
    """Whether the widget has opened a checkout on one of the active merchant's pages."""
    return CheckoutSession.objects.exclude(origin="").exists()
