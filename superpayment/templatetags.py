"""Template filters every template can use without `{% load %}` (TEMPLATES builtins)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import dateformat, timezone

from superpayment.money import amount_format

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """`{{ 9900|money:"EUR" }}` -> "€99.00": integer minor units in the currency's format."""
    return amount_format(int(minor or 0), currency)


@register.filter
def when(value: datetime | None) -> str:
    """`{{ payment.created_at|when }}` -> "3 Dec 2026, 14:05 CET": date, time and the zone's
    abbreviation, in the active time zone (the business's, in its portal). Empty for None."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, "j M Y, H:i T")
