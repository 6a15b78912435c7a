from __future__ import annotations

from django import forms

from billing.forms import BillingDetailsForm
from superpayment.money import supported_currencies
from tenants.activation import TERMS_VERSION
from tenants.models import PayButton, Role
from tenants.regional import locale_choices, time_zone_choices
from tenants.validators import countries


def _country_choices() -> list[tuple[str, str]]:
    return [("", "Choose a country")] + [(code, name) for code, name in countries().items()]


def _currency_choices() -> list[tuple[str, str]]:
    return [("", "Choose a currency")] + [(code, code) for code in sorted(supported_currencies())]


class BusinessForm(forms.Form):
    name = forms.CharField(max_length=120, label="Business name")
    slug = forms.CharField(
        max_length=40,
        help_text="Your address in the portal: lowercase letters, digits and hyphens.",
    )
    country = forms.ChoiceField(choices=_country_choices)
    default_currency = forms.ChoiceField(choices=_currency_choices, label="Default currency")


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class LiveActivationForm(BillingDetailsForm):
    """Live-mode activation (tenants.activation): billing's details form (same fields and
    checks), the name and address required, and the terms."""

    terms_accepted = forms.BooleanField(
        label="I accept the SuperPayment terms of service",
        help_text=f"Version {TERMS_VERSION}, on behalf of the business. We record who accepted "
        "it and when.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, label in (("legal_name", "Legal name"), ("address", "Registered address")):
            self.fields[name].required = True
            self.fields[name].label = label
        self.fields["legal_name"].help_text = "As registered."
        self.fields["vat_id"].label = "VAT ID (if the business has one)"
        self.fields["vat_id"].help_text = "Checked against your business's country."


class PayButtonsForm(forms.Form):
    mode = forms.ChoiceField(choices=[("test", "Test"), ("live", "Live")], widget=forms.HiddenInput)
    pay_buttons = forms.MultipleChoiceField(
        choices=PayButton.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Accepted pay buttons",
        error_messages={"required": "Accept at least one kind of pay button."},
    )


class BusinessSettingsForm(forms.Form):
    """The business's name, time zone and locale; an empty zone or locale keeps the country's."""

    name = forms.CharField(max_length=120, label="Business name")
    time_zone = forms.ChoiceField(
        required=False, help_text="Times in the portal show in this zone. Empty: the country's."
    )
    locale = forms.ChoiceField(
        required=False,
        help_text='Amounts you type are read in this locale ("12,50" for German). Empty: the '
        "country's.",
    )

    def __init__(self, *args, country_default: tuple[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        zone, locale = country_default
        self.fields["time_zone"].choices = [("", f"The country's ({zone})"), *time_zone_choices()]
        self.fields["locale"].choices = [("", f"The country's ({locale})"), *locale_choices()]
