"""Portal pages for API keys. A secret key's full value is shown once, right after it is made."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants import keys
from tenants.errors import ApiKeyError
from tenants.models import ApiKey
from tenants.permissions import Perm
from tenants.portal import merchant_view
from tenants.selectors import api_key_list

REVEAL_SESSION_KEY = "superpayment.key_reveal"
ROLL_CHOICES = [
    (str(int(delta.total_seconds())), label) for delta, label in keys.ROLL_EXPIRY_CHOICES.items()
]


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, initial="Default")
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    mode = forms.ChoiceField(choices=ApiKey.Mode.choices, initial=ApiKey.Mode.TEST)
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://shop.example.com"}),
        help_text="Publishable keys only: the shop origins where the widget may run, one per line.",
    )


class OriginsForm(forms.Form):
    allowed_origins = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RollForm(forms.Form):
    expires_in = forms.ChoiceField(choices=ROLL_CHOICES, label="Old key stops working")


def _origins(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _key_of_merchant(request: HttpRequest, key_id: int) -> ApiKey:
    key = api_key_list(merchant=request.merchant).filter(pk=key_id).first()
    if key is None:
        raise Http404("No such key")
    return key


def _reveal(request: HttpRequest, key: ApiKey, secret: str | None) -> None:
    if secret:
        request.session[REVEAL_SESSION_KEY] = {"id": key.pk, "secret": secret}


@merchant_view(Perm.MANAGE_KEYS)
def keys_page(request: HttpRequest) -> HttpResponse:
    initial_mode = (
        ApiKey.Mode.LIVE if request.livemode and request.merchant.live_activated else None
    )
    form = KeyCreateForm(
        request.POST or None, initial={"mode": initial_mode} if initial_mode else None
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            key, secret = keys.api_key_create(
                merchant=request.merchant,
                kind=data["kind"],
                mode=data["mode"],
                name=data["name"],
                allowed_origins=_origins(data["allowed_origins"]),
                actor=request.user,
                request=request,
            )
        except ApiKeyError as error:
            form.add_error(error.param if error.param in form.fields else None, error.message)
        else:
            _reveal(request, key, secret)
            messages.success(request, f"Key “{key.name}” created.")
            return redirect("portal:keys", slug=request.merchant.slug)
    reveal = request.session.pop(REVEAL_SESSION_KEY, None)
    all_keys = api_key_list(merchant=request.merchant)
    return render(
        request,
        "portal/keys.html",
        {"form": form, "keys": all_keys, "reveal": reveal, "roll_form": RollForm()},
    )


@require_POST
@merchant_view(Perm.MANAGE_KEYS)
def key_roll(request: HttpRequest, key_id: int) -> HttpResponse:
    key = _key_of_merchant(request, key_id)
    form = RollForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose when the old key stops working.")
        return redirect("portal:keys", slug=request.merchant.slug)
    try:
        new_key, secret = keys.api_key_roll(
            key=key,
            actor=request.user,
            expires_in=timedelta(seconds=int(form.cleaned_data["expires_in"])),
            request=request,
        )
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        _reveal(request, new_key, secret)
        messages.success(request, f"Key “{key.name}” rolled.")
    return redirect("portal:keys", slug=request.merchant.slug)


@require_POST
@merchant_view(Perm.MANAGE_KEYS)
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = _key_of_merchant(request, key_id)
    try:
        keys.api_key_revoke(key=key, actor=request.user, request=request)
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Key “{key.name}” revoked.")
    return redirect("portal:keys", slug=request.merchant.slug)


@require_POST
@merchant_view(Perm.MANAGE_KEYS)
def key_origins(request: HttpRequest, key_id: int) -> HttpResponse:
    key = _key_of_merchant(request, key_id)
    form = OriginsForm(request.POST)
    form.is_valid()
    try:
        keys.api_key_update_origins(
            key=key,
            actor=request.user,
            allowed_origins=_origins(form.cleaned_data.get("allowed_origins", "")),
            request=request,
        )
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Allowed origins saved.")
    return redirect("portal:keys", slug=request.merchant.slug)
