"""The Billing page's form for the merchant's billing details."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

# Printable text; the address may span lines.
no_control = RegexValidator(r"\A[^\x00-\x1f\x7f]*\Z", "Remove the control characters.")
no_control_but_newlines = RegexValidator(
    r"\A[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f]*\Z", "Remove the control characters."
)


class BillingDetailsForm(forms.Form):
    legal_name = forms.CharField(
        max_length=120,
        required=False,
        label="Legal name",
        help_text="As registered; the business name is used when empty.",
        validators=[no_control],
    )
    address = forms.CharField(
        max_length=500,
        required=False,
        label="Billing address",
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[no_control_but_newlines],
    )
    vat_id = forms.CharField(
        max_length=40,
        required=False,
        label="VAT ID",
        help_text="With or without the country prefix. In the EU, outside our country, it makes "
        "your invoices reverse charge.",
        validators=[no_control],
    )
