"""Endpoint services: secrets, rotation with overlap, disabling, retries' schedule."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import member_of
from webhooks import delivery as delivery_module
from webhooks.delivery import attempt_record, endpoint_secrets, retry_after_parse, retry_delay
from webhooks.endpoints import endpoint_create, endpoint_secret_rotate, endpoint_update
from webhooks.errors import WebhookError
from webhooks.http import SendResult
from webhooks.models import Delivery, Event, WebhookEndpoint
from webhooks.queue.models import DueDelivery
from webhooks.services import event_record
from webhooks.signing import request_headers

pytestmark = pytest.mark.django_db

VOUCHER = {"id": "vch_1", "object": "voucher", "version": 2}


@pytest.fixture
def endpoint(in_merchant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    return endpoint_create(
        url="https://shop.example.com/hooks", enabled_events=["*"], livemode=False
    )


def _verify(secret: str, headers: dict, body: str) -> dict:
    return Webhook(secret).verify(body, headers)


def test_secret_is_whsec_and_24_to_64_random_bytes(endpoint):
    assert endpoint.secret.startswith("whsec_")
    raw = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    assert 24 <= len(raw) <= 64
    other = endpoint_create(url="https://b.example.com/", enabled_events=["*"], livemode=False)
    assert other.secret != endpoint.secret


def test_rotation_with_overlap_signs_with_both_secrets(endpoint):
    old_secret = endpoint.secret
    rotated = endpoint_secret_rotate(endpoint=endpoint, overlap="24h")
    now = timezone.now()
    assert rotated.secret != old_secret
    secrets = endpoint_secrets(rotated, now=now)
    assert secrets == [rotated.secret, old_secret]
    body = '{"id":"evt_1"}'
    headers = request_headers(secrets=secrets, msg_id="evt_1", timestamp=now, body=body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _verify(old_secret, headers, body) == {"id": "evt_1"}
    assert _verify(rotated.secret, headers, body) == {"id": "evt_1"}
    # After the overlap only the new secret signs.
    later = now + timedelta(hours=24, seconds=1)
    assert endpoint_secrets(rotated, now=later) == [rotated.secret]


def test_rotation_now_drops_the_old_secret_at_once(endpoint):
    old_secret = endpoint.secret
    rotated = endpoint_secret_rotate(endpoint=endpoint, overlap="now")
    now = timezone.now()
    body = "{}"
    headers = request_headers(
        secrets=endpoint_secrets(rotated, now=now), msg_id="evt_2", timestamp=now, body=body
    )
    with pytest.raises(WebhookVerificationError):
        _verify(old_secret, headers, body)
    assert _verify(rotated.secret, headers, body) == {}
    with pytest.raises(WebhookError):
        endpoint_secret_rotate(endpoint=rotated, overlap="1w")


def test_a_stale_timestamp_fails_verification(endpoint):
    then = timezone.now() - timedelta(minutes=6)
    headers = request_headers(secrets=[endpoint.secret], msg_id="evt_3", timestamp=then, body="{}")
    with pytest.raises(WebhookVerificationError):
        _verify(endpoint.secret, headers, "{}")


def test_retry_schedule_has_jitter_and_ends():
    expected = [5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400]
    for attempt, seconds in enumerate(expected, start=1):
        delay = retry_delay(attempt_count=attempt).total_seconds()
        assert seconds * 0.9 <= delay <= seconds * 1.1
    assert retry_delay(attempt_count=11) is None


def test_retry_after_in_seconds_or_http_date_capped_at_a_day():
    now = timezone.now()
    assert retry_after_parse("120", now=now) == timedelta(seconds=120)
    assert retry_after_parse("999999", now=now) == timedelta(hours=24)
    assert retry_after_parse("soon", now=now) is None
    assert retry_after_parse(None, now=now) is None


def _one_delivery(endpoint) -> Delivery:
    event = event_record(event_type="voucher.updated", data_object=VOUCHER, livemode=False)
    return Delivery.objects.select_related("event", "endpoint").get(event=event, endpoint=endpoint)


def _attempt(delivery, **result) -> str:
    return attempt_record(
        delivery=delivery,
        attempted_at=timezone.now(),
        headers={},
        result=SendResult(**result),
        url=delivery.endpoint.url,
    )


def test_429_honours_retry_after(endpoint):
    delivery = _one_delivery(endpoint)
    assert _attempt(delivery, status_code=429, retry_after="600") == "retry_scheduled"
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 599 <= wait <= 601


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        ({"status_code": 204}, "succeeded"),
        ({"status_code": 301}, "retry_scheduled"),
        ({"status_code": 400}, "retry_scheduled"),
        ({"status_code": 503}, "retry_scheduled"),
        ({"error": "timed out after 15 s"}, "retry_scheduled"),
    ],
)
def test_only_2xx_succeeds(endpoint, result, outcome):
    assert _attempt(_one_delivery(endpoint), **result) == outcome


def test_410_disables_emails_owners_and_records_an_event(
    endpoint, merchant_a, django_capture_on_commit_callbacks
):
    owner = member_of(merchant_a, "owner")
    other = endpoint_create(url="https://b.example.com/", enabled_events=["*"], livemode=False)
    delivery = _one_delivery(endpoint)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert _attempt(delivery, status_code=410) == "gone_disabled"

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "The URL answered 410 Gone.")
    disabled_event = Event.objects.get(type="webhook_endpoint.disabled")
    assert disabled_event.data_object["id"] == endpoint.public_id
    assert disabled_event.data_object["status"] == "disabled"
    # Told to the other endpoint, not to the disabled one.
    assert list(disabled_event.deliveries.values_list("endpoint_id", flat=True)) == [other.pk]
    assert not DueDelivery.objects.filter(delivery_id=delivery.pk).exists()
    # The owners are emailed once the change commits.
    (message,) = mail.outbox
    assert message.to == [owner.email]
    assert endpoint.url in message.body
    assert "410 Gone" in message.body


def test_five_days_of_failures_disable_the_endpoint(endpoint):
    delivery = _one_delivery(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    assert _attempt(delivery, status_code=500) == "failing_disabled"
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert endpoint.disabled_reason == "Every delivery failed for 5 days."


def test_four_days_of_failures_keep_retrying(endpoint):
    delivery = _one_delivery(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=4)
    )
    assert _attempt(delivery, status_code=500) == "retry_scheduled"
    assert _attempt(delivery, status_code=200) == "succeeded"
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.failing_since) == (True, None)


def test_subscriptions_are_checked(endpoint):
    with pytest.raises(WebhookError) as unknown:
        endpoint_update(endpoint=endpoint, enabled_events=["payment.eaten"])
    assert unknown.value.code == "event_type_invalid"
    updated = endpoint_update(endpoint=endpoint, enabled_events=["voucher.created"])
    assert updated.enabled_events == ["voucher.created"]
    assert updated.version == 2


def test_a_claimed_delivery_is_not_claimed_again_until_its_claim_lapses(endpoint, merchant_a):
    delivery = _one_delivery(endpoint)
    mine = (merchant_a.schema_name, delivery.pk)
    queued = DueDelivery.objects.filter(schema_name=merchant_a.schema_name, delivery_id=delivery.pk)

    assert mine in delivery_module.due_deliveries_claim(limit=10)
    assert mine not in delivery_module.due_deliveries_claim(limit=10)  # a thread has it
    # No thread leased it in time (its dispatcher died between claim and attempt).
    lapsed = timezone.now() - delivery_module.REENQUEUE_AFTER - timedelta(seconds=1)
    queued.update(enqueued_at=lapsed)
    assert mine in delivery_module.due_deliveries_claim(limit=10)
    # Leased for an attempt in flight: not claimed, whatever its claim time.
    queued.update(enqueued_at=None, leased_until=timezone.now() + delivery_module.LEASE)
    assert mine not in delivery_module.due_deliveries_claim(limit=10)
    queued.update(leased_until=None, due_at=timezone.now() + timedelta(seconds=30))
    assert mine not in delivery_module.due_deliveries_claim(limit=10)  # not due yet
    assert delivery_module.next_due_at() <= queued.get().due_at
