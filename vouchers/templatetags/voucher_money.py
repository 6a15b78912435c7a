"""`{{ minor|money:currency }}`: integer minor units shown in the currency's format."""

from __future__ import annotations

from django import template

from superpayment.money import amount_format

register = template.Library()


@register.filter
def money(minor: int, currency: str) -> str:
    return amount_format(minor, currency)
