"""Portal pages for webhook endpoints, their deliveries, and the event catalogue."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.permissions import Perm
from tenants.portal import merchant_view, portal_object_mode
from webhooks.endpoints import (
    ROTATION_OVERLAPS,
    deliveries_recover,
    delivery_resend,
    endpoint_create,
    endpoint_delete,
    endpoint_secret_rotate,
    endpoint_test_send,
    endpoint_update,
)
from webhooks.errors import WebhookError
from webhooks.events import ALL_EVENTS, EVENT_CATALOGUE, SUBSCRIBABLE, EventType
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.selectors import delivery_list, endpoint_list

REVEAL_SESSION_KEY = "superpayment.webhook_secret_reveal"
EVENT_CHOICES = [(t, t) for t in SUBSCRIBABLE]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2048,
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com/webhooks"}),
    )
    description = forms.CharField(max_length=500, required=False)
    all_events = forms.BooleanField(
        required=False, initial=True, label="Send every event type (also types added later)"
    )
    enabled_events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Or only these event types",
    )

    def events(self) -> list[str]:
        if self.cleaned_data.get("all_events"):
            return [ALL_EVENTS]
        return self.cleaned_data.get("enabled_events") or []


class EndpointCreateForm(EndpointForm):
    mode = forms.ChoiceField(choices=[("test", "Test"), ("live", "Live")], initial="test")


class RecoverForm(forms.Form):
    since = forms.DateTimeField(label="Resend every failed delivery since (UTC)")


def _endpoint_of_request(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(public_id=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such endpoint")
    return endpoint


def _form_error(form: forms.Form, error: WebhookError) -> None:
    field = error.param if error.param in form.fields else None
    if error.param == "enabled_events":
        field = "enabled_events"
    form.add_error(field, error.message)


def _reveal(request: HttpRequest, endpoint: WebhookEndpoint) -> None:
    request.session[REVEAL_SESSION_KEY] = {"id": endpoint.public_id, "secret": endpoint.secret}


@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhooks_page(request: HttpRequest) -> HttpResponse:
    mode = "live" if request.livemode else "test"  # the portal's mode (tenants.portal)
    form = EndpointCreateForm(request.POST or None, initial={"mode": mode})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoint_create(
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                enabled_events=form.events(),
                livemode=form.cleaned_data["mode"] == "live",
                created_by=request.user.pk,
            )
        except WebhookError as error:
            _form_error(form, error)
        else:
            _reveal(request, endpoint)
            messages.success(request, "Endpoint added.")
            return redirect("portal:webhook_detail", request.merchant.slug, endpoint.public_id)
    return render(request, "portal/webhooks.html", {"endpoints": endpoint_list(), "form": form})


@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    portal_object_mode(
        request,
        livemode=endpoint.livemode,
        list_url=reverse("portal:webhooks", kwargs={"slug": request.merchant.slug}),
    )
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "all_events": ALL_EVENTS in endpoint.enabled_events,
        "enabled_events": [e for e in endpoint.enabled_events if e != ALL_EVENTS],
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action in ("enable", "disable"):
                endpoint_update(endpoint=endpoint, enabled=action == "enable")
                messages.success(request, f"Endpoint {action}d.")
                return redirect("portal:webhook_detail", request.merchant.slug, endpoint_id)
            if form.is_valid():
                endpoint_update(
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    enabled_events=form.events(),
                )
                messages.success(request, "Endpoint saved.")
                return redirect("portal:webhook_detail", request.merchant.slug, endpoint_id)
        except WebhookError as error:
            _form_error(form, error)
    status = request.GET.get("status") or None
    event_type = request.GET.get("type") or None
    deliveries = Paginator(
        delivery_list(
            endpoint=endpoint,
            status=status if status in Delivery.Status.values else None,
            event_type=event_type,
        ),
        50,
    ).get_page(request.GET.get("page"))
    reveal = request.session.pop(REVEAL_SESSION_KEY, None)
    if reveal and reveal.get("id") != endpoint.public_id:
        reveal = None
    return render(
        request,
        "portal/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "deliveries": deliveries,
            "statuses": Delivery.Status.choices,
            "event_types": [t.value for t in EventType],
            "filter_status": status or "",
            "filter_type": event_type or "",
            "reveal": reveal,
            "recover_form": RecoverForm(initial={"since": timezone.now() - timedelta(days=3)}),
            "overlaps": list(ROTATION_OVERLAPS),
        },
    )


@require_POST
@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    try:
        endpoint = endpoint_secret_rotate(
            endpoint=endpoint, overlap=request.POST.get("expires_in", "24h")
        )
    except WebhookError as error:
        messages.error(request, error.message)
    else:
        _reveal(request, endpoint)
        messages.success(request, "Secret rotated.")
    return redirect("portal:webhook_detail", request.merchant.slug, endpoint_id)


@require_POST
@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    event = endpoint_test_send(endpoint=endpoint)
    messages.success(request, f"Test event {event.public_id} sent; its delivery is listed below.")
    return redirect("portal:webhook_detail", request.merchant.slug, endpoint_id)


@require_POST
@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    endpoint_delete(endpoint=endpoint)
    messages.success(request, "Endpoint deleted.")
    return redirect("portal:webhooks", request.merchant.slug)


@require_POST
@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_recover(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    form = RecoverForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a date and time to recover from.")
    else:
        try:
            count = deliveries_recover(endpoint=endpoint, since=form.cleaned_data["since"])
        except WebhookError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{count} failed deliveries queued again.")
    return redirect("portal:webhook_detail", request.merchant.slug, endpoint_id)


@merchant_view(Perm.MANAGE_WEBHOOKS)
def webhook_delivery(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    endpoint = _endpoint_of_request(request, endpoint_id)
    portal_object_mode(
        request,
        livemode=endpoint.livemode,
        list_url=reverse("portal:webhooks", kwargs={"slug": request.merchant.slug}),
    )
    delivery = (
        Delivery.objects.select_related("event", "endpoint")
        .filter(endpoint=endpoint, public_id=delivery_id)
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery")
    if request.method == "POST":
        try:
            delivery_resend(delivery=delivery)
        except WebhookError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Delivery queued again (same webhook-id).")
        return redirect("portal:webhook_delivery", request.merchant.slug, endpoint_id, delivery_id)
    return render(
        request,
        "portal/webhook_delivery.html",
        {
            "endpoint": endpoint,
            "delivery": delivery,
            # As sent (JSON), indented for reading; the request carried it compact.
            "body": json.dumps(delivery.event.payload(), indent=2, ensure_ascii=False),
            "attempts": delivery.attempts.all()[:50],
        },
    )


@merchant_view(Perm.VIEW)
@require_GET
def webhook_events(request: HttpRequest) -> HttpResponse:
    catalogue = [
        {"type": t.value, "object": obj, "description": text}
        for t, (obj, text) in EVENT_CATALOGUE.items()
    ]
    return render(request, "portal/webhook_events.html", {"catalogue": catalogue})
