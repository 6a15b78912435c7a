"""The SuperPayment project shell (named after the product, never `platform`: see README)."""

from superpayment.celery import app as celery_app

__all__ = ["celery_app"]
