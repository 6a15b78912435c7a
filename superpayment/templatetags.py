"""Template filters every template can use without `{% load %}` (TEMPLATES builtins)."""

from __future__ import annotations

from django import template

from superpayment.money import amount_format

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """`{{ 9900|money:"EUR" }}` -> "€99.00": integer minor units in the currency's format."""
    return amount_format(int(minor or 0), currency)
