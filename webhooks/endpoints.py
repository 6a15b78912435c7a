"""Managing webhook endpoints: create, update, rotate the secret, disable, test, resend."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from webhooks.dispatch import dispatcher_wake
from webhooks.errors import WebhookError, WebhookErrorCode
from webhooks.events import ALL_EVENTS, API_VERSION, SUBSCRIBABLE, EventType
from webhooks.models import Delivery, Event, WebhookEndpoint, endpoint_secret_new
from webhooks.queue.models import DueDelivery
from webhooks.services import deliveries_create, event_record
from webhooks.ssrf import url_check

log = structlog.get_logger(__name__)

ENDPOINTS_MAX = 16
ROTATION_OVERLAPS = {"now": timedelta(0), "24h": timedelta(hours=24)}
RECOVER_MAX = 10_000


def enabled_events_clean(enabled_events: list[str] | None) -> list[str]:
    if not enabled_events:
        raise WebhookError(
            WebhookErrorCode.EVENT_TYPE_INVALID,
            "Choose at least one event type, or * for all of them.",
            param="enabled_events",
        )
    if ALL_EVENTS in enabled_events:
        return [ALL_EVENTS]
    unknown = sorted(set(enabled_events) - set(SUBSCRIBABLE))
    if unknown:
        raise WebhookError(
            WebhookErrorCode.EVENT_TYPE_INVALID,
            f"Unknown event type: {', '.join(unknown)}.",
            param="enabled_events",
        )
    return sorted(set(enabled_events))


def _url_clean(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2048:
        raise WebhookError(WebhookErrorCode.URL_INVALID, "The URL is too long.", param="url")
    url_check(url)
    return url


def _description_clean(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 500:
        raise WebhookError(
            WebhookErrorCode.DESCRIPTION_INVALID,
            "The description is longer than 500 characters.",
            param="description",
        )
    return description


def endpoint_data_object(endpoint: WebhookEndpoint) -> dict:
    """The endpoint as the API and the `webhook_endpoint.*` events show it (never the secret)."""
    return {
        "id": endpoint.public_id,
        "object": "webhook_endpoint",
        "version": endpoint.version,
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "status": "enabled" if endpoint.enabled else "disabled",
        "disabled_reason": endpoint.disabled_reason or None,
        "livemode": endpoint.livemode,
        "created": int(endpoint.created_at.timestamp()),
    }


@transaction.atomic
def endpoint_create(
    *,
    url: str,
    enabled_events: list[str],
    livemode: bool,
    description: str = "",
    created_by: int | None = None,
) -> WebhookEndpoint:
    if WebhookEndpoint.objects.filter(livemode=livemode).count() >= ENDPOINTS_MAX:
        raise WebhookError(
            WebhookErrorCode.ENDPOINT_LIMIT_REACHED,
            f"At most {ENDPOINTS_MAX} endpoints per mode.",
        )
    return WebhookEndpoint.objects.create(
        url=_url_clean(url),
        description=_description_clean(description),
        enabled_events=enabled_events_clean(enabled_events),
        livemode=livemode,
        created_by=created_by,
    )


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    description: str | None = None,
    enabled_events: list[str] | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None:
        endpoint.url = _url_clean(url)
    if description is not None:
        endpoint.description = _description_clean(description)
    if enabled_events is not None:
        endpoint.enabled_events = enabled_events_clean(enabled_events)
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.failing_since = None
        else:
            endpoint.disabled_reason = "Disabled by you."
            endpoint.disabled_at = timezone.now()
            _pending_deliveries_fail(endpoint=endpoint)
    endpoint.version += 1
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    schema_name = connection.schema_name
    delivery_ids = list(endpoint.deliveries.values_list("pk", flat=True))
    DueDelivery.objects.filter(schema_name=schema_name, delivery_id__in=delivery_ids).delete()
    endpoint.delete()


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, overlap: str = "24h") -> WebhookEndpoint:
    """A new secret at once; the old one keeps signing (beside the new) until the overlap ends."""
    if overlap not in ROTATION_OVERLAPS:
        raise WebhookError(
            WebhookErrorCode.OVERLAP_INVALID,
            "The overlap must be now or 24h.",
            param="expires_in",
        )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    delay = ROTATION_OVERLAPS[overlap]
    if delay:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + delay
    else:
        endpoint.previous_secret = ""
        endpoint.previous_secret_expires_at = None
    endpoint.secret = endpoint_secret_new()
    endpoint.save()
    return endpoint


def _pending_deliveries_fail(*, endpoint: WebhookEndpoint) -> None:
    pending = Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING)
    ids = list(pending.values_list("pk", flat=True))
    pending.update(status=Delivery.Status.FAILED, next_attempt_at=None)
    DueDelivery.objects.filter(schema_name=connection.schema_name, delivery_id__in=ids).delete()


def _owners_email(*, endpoint: WebhookEndpoint, reason: str) -> None:
    from tenants.models import Membership

    memberships = Membership.objects.select_related("user", "merchant").filter(
        merchant__schema_name=connection.schema_name, role="owner"
    )
    recipients = [m.user.email for m in memberships]
    if not recipients:
        return
    merchant = memberships[0].merchant
    link = f"{settings.PUBLIC_BASE_URL}/dashboard/{merchant.slug}/webhooks/{endpoint.public_id}/"
    send_mail(
        subject=f"[SuperPayment] Webhook endpoint disabled for {merchant.name}",
        message=(
            f"We disabled the webhook endpoint {endpoint.url} of {merchant.name}.\n\n"
            f"Reason: {reason}\n\n"
            "No events are sent to it until you enable it again. Events of the last 30 days "
            "stay listed (GET /v1/events) so your backend can catch up, and the endpoint's "
            f"page can resend every failed delivery once it is fixed:\n{link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Disable an endpoint the platform gave up on: its pending deliveries fail, the owners are
    emailed (after commit) and a `webhook_endpoint.disabled` event is recorded."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.enabled:
        return endpoint
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = timezone.now()
    endpoint.version += 1
    endpoint.save()
    _pending_deliveries_fail(endpoint=endpoint)
    event_record(
        event_type=EventType.WEBHOOK_ENDPOINT_DISABLED,
        data_object=endpoint_data_object(endpoint),
        livemode=endpoint.livemode,
    )
    transaction.on_commit(lambda: _owners_email(endpoint=endpoint, reason=reason))
    log.warning("webhook_endpoint_disabled", endpoint=endpoint.public_id, reason=reason)
    return endpoint


@transaction.atomic
def endpoint_test_send(*, endpoint: WebhookEndpoint) -> Event:
    """A `test.webhook` event delivered to this endpoint only (even when it is disabled, so a
    merchant can check a fix before enabling it again)."""
    event = Event.objects.create(
        type=EventType.TEST.value,
        livemode=endpoint.livemode,
        api_version=API_VERSION,
        data_object=endpoint_data_object(endpoint),
    )
    deliveries_create(event=event, endpoints=[endpoint])
    return event


def _requeue(*, deliveries: list[Delivery]) -> int:
    """Make failed deliveries pending again, due now; the dispatcher is woken at commit."""
    schema_name = connection.schema_name
    now = timezone.now()
    ids = [d.pk for d in deliveries]
    Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.PENDING, next_attempt_at=now)
    existing = set(
        DueDelivery.objects.filter(schema_name=schema_name, delivery_id__in=ids).values_list(
            "delivery_id", flat=True
        )
    )
    DueDelivery.objects.filter(schema_name=schema_name, delivery_id__in=existing).update(
        due_at=now, leased_until=None, enqueued_at=None
    )
    DueDelivery.objects.bulk_create(
        [
            DueDelivery(schema_name=schema_name, delivery_id=pk, due_at=now)
            for pk in ids
            if pk not in existing
        ]
    )
    if ids:
        dispatcher_wake()
    return len(ids)


def _endpoint_enabled_check(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise WebhookError(
            WebhookErrorCode.ENDPOINT_DISABLED,
            "Enable the endpoint before resending deliveries to it.",
        )


@transaction.atomic
def delivery_resend(*, delivery: Delivery) -> Delivery:
    """One more attempt now (same `webhook-id`), whatever the delivery's state."""
    _endpoint_enabled_check(delivery.endpoint)
    _requeue(deliveries=[delivery])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def deliveries_recover(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Resend every failed delivery of this endpoint created since `since`."""
    _endpoint_enabled_check(endpoint)
    failed = list(
        Delivery.objects.filter(
            endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since
        ).order_by("created_at")[:RECOVER_MAX]
    )
    return _requeue(deliveries=failed)
