"""Reads of webhook data, always within one mode (a test key never sees live objects)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from webhooks.errors import WebhookError, WebhookErrorCode
from webhooks.models import Delivery, Event, WebhookEndpoint

EVENT_RETENTION = timedelta(days=30)


def endpoint_get(*, endpoint_id: str, livemode: bool | None = None) -> WebhookEndpoint:
    endpoints = WebhookEndpoint.objects.filter(public_id=endpoint_id)
    if livemode is not None:
        endpoints = endpoints.filter(livemode=livemode)
    endpoint = endpoints.first()
    if endpoint is None:
        raise WebhookError(
            WebhookErrorCode.ENDPOINT_NOT_FOUND, f"No such webhook endpoint: {endpoint_id}."
        )
    return endpoint


def endpoint_list(*, livemode: bool | None = None) -> QuerySet[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.all()
    if livemode is not None:
        endpoints = endpoints.filter(livemode=livemode)
    return endpoints.order_by("-created_at", "-id")


def event_list(*, livemode: bool | None, type: str | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(created_at__gte=timezone.now() - EVENT_RETENTION)
    if livemode is not None:
        events = events.filter(livemode=livemode)
    if type:
        events = events.filter(type=type)
    return events


def event_get(*, event_id: str, livemode: bool | None) -> Event:
    event = event_list(livemode=livemode).filter(public_id=event_id).first()
    if event is None:
        raise WebhookError(WebhookErrorCode.EVENT_NOT_FOUND, f"No such event: {event_id}.")
    return event


def delivery_list(
    *, endpoint: WebhookEndpoint, status: str | None = None, event_type: str | None = None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event__type=event_type)
    return deliveries.order_by("-created_at", "-id")
