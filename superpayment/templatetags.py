"""Template filters and tags every template can use without `{% load %}` (TEMPLATES builtins)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import dateformat, timezone

from superpayment.money import amount_format

register = template.Library()


def _active_locale() -> str:
    # The business's locale inside its portal (tenants.regional), English elsewhere.
    from tenants.regional import active_locale

    return active_locale()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """`{{ 9900|money:"EUR" }}` -> "€99.00" (English), "99,00 €" (a de_DE business's portal):
    integer minor units in the currency's format and the active business's locale."""
    return amount_format(int(minor or 0), currency, _active_locale())


@register.filter
def when(value: datetime | None) -> str:
    """`{{ payment.created_at|when }}` -> "3 Dec 2026, 14:05 CET": date, time and the zone's
    abbreviation, in the active time zone (the business's, in its portal). Empty for None."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, "j M Y, H:i T")


@register.inclusion_tag("partials/copy.html")
def copy(
    value: object, label: str, *, secret: bool = False, show: bool = True, code_id: str = ""
) -> dict:
    """`{% copy payment.public_id "payment id" %}`: the value in `<code>` and a button that
    copies it (superpayment/static/superpayment/portal.js), named "Copy payment id" for screen
    readers and announcing "Copied" through the page's live region. `secret=True` marks the
    text for password managers and screen recorders to leave alone; `show=False` renders the
    button alone, for a value the page already shows (a snippet, a secret in a box); `code_id`
    is the `<code>` element's id."""
    return {
        "value": "" if value is None else str(value),
        "label": label,
        "secret": secret,
        "show": show,
        "code_id": code_id,
    }


def copy_html(value: object, label: str, **options) -> str:
    """The `copy` tag's HTML, for Python-built pages (the admin console's read-only fields)."""
    from django.template.loader import render_to_string

    return render_to_string("partials/copy.html", copy(value, label, **options))
