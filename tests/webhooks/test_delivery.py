"""Delivery end to end: a real receiver on 127.0.0.1 and the real dispatcher process."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tests.helpers import committed
from tests.webhooks.support import Reply, wait_until
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.queue.models import DueDelivery
from webhooks.services import event_record

pytestmark = pytest.mark.django_db

PAYMENT = {
    "id": "pay_0001",
    "object": "payment",
    "version": 1,
    "amount": 9900,
    "currency": "EUR",
    "order_id": "ORDER_123",
    "status": "succeeded",
}


def _in_a(merchant, fn):
    return committed(fn, merchant.schema_name)


def _endpoint(merchant, url: str, events=("*",)) -> WebhookEndpoint:
    return _in_a(
        merchant,
        lambda: endpoint_create(url=url, enabled_events=list(events), livemode=False),
    )


def _record(merchant, data_object: dict, event_type: str = "payment.succeeded") -> Event:
    def record() -> Event:
        with transaction.atomic():
            return event_record(event_type=event_type, data_object=data_object, livemode=False)

    return _in_a(merchant, record)


def _deliveries(merchant) -> list[Delivery]:
    return _in_a(merchant, lambda: list(Delivery.objects.order_by("id")))


def _attempts(merchant, delivery_id: int) -> list[DeliveryAttempt]:
    return _in_a(
        merchant,
        lambda: list(DeliveryAttempt.objects.filter(delivery_id=delivery_id).order_by("id")),
    )


def _queue_rows(merchant) -> list[DueDelivery]:
    return committed(lambda: list(DueDelivery.objects.filter(schema_name=merchant.schema_name)))


def _queue_shift(merchant, **fields) -> None:
    committed(lambda: DueDelivery.objects.filter(schema_name=merchant.schema_name).update(**fields))


def test_event_is_delivered_signed_and_verifiable(committed_webhooks, receiver, start_worker):
    merchant = committed_webhooks
    endpoint = _endpoint(merchant, receiver.url + "/hooks")
    start_worker()

    event = _record(merchant, PAYMENT)

    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks"
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "id": event.public_id,
        "object": "event",
        "type": "payment.succeeded",
        "created": int(event.created_at.timestamp()),
        "livemode": False,
        "api_version": event.api_version,
        "data": {"object": PAYMENT},
    }
    assert request.headers["webhook-id"] == event.public_id
    assert request.headers["content-type"] == "application/json"
    (delivery,) = wait_until(
        lambda: [d for d in _deliveries(merchant) if d.status == "succeeded"], timeout=30
    )
    assert delivery.attempt_count == 1
    assert delivery.last_status_code == 200
    (attempt,) = _attempts(merchant, delivery.pk)
    assert (attempt.status_code, attempt.succeeded, attempt.response_body) == (200, True, "ok")
    assert attempt.request_headers["webhook-id"] == event.public_id
    assert _queue_rows(merchant) == []


def test_events_committed_while_no_dispatcher_ran_are_delivered_once_one_starts(
    committed_webhooks, receiver, start_worker
):
    merchant = committed_webhooks
    _endpoint(merchant, receiver.url + "/hooks")
    # Their notifications went to no one: only the due rows remain.
    events = [_record(merchant, {**PAYMENT, "id": f"pay_{n:04d}"}) for n in range(20)]
    assert len(_queue_rows(merchant)) == 20

    start_worker()

    requests = receiver.wait_for(20)
    assert sorted(r.headers["webhook-id"] for r in requests) == sorted(e.public_id for e in events)
    wait_until(lambda: all(d.status == "succeeded" for d in _deliveries(merchant)), timeout=30)
    assert [d.status for d in _deliveries(merchant)] == ["succeeded"] * 20
    assert _queue_rows(merchant) == []


def test_worker_killed_mid_delivery_delivers_after_restart_with_the_same_id(
    committed_webhooks, receiver, start_worker
):
    merchant = committed_webhooks
    endpoint = _endpoint(merchant, receiver.url + "/hooks")
    release = threading.Event()
    receiver.replies = [Reply(status=200, hold=release)]
    worker = start_worker()

    event = _record(merchant, PAYMENT)
    receiver.wait_for(1)
    worker.kill()
    release.set()
    (row,) = _queue_rows(merchant)
    assert row.leased_until is not None  # in flight when the worker died
    # The lease outlives the HTTP timeout; move it into the past instead of waiting a minute.
    _queue_shift(merchant, leased_until=timezone.now() - timedelta(seconds=1), enqueued_at=None)

    start_worker()

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.public_id
    assert Webhook(endpoint.secret).verify(second.body, second.headers)["id"] == event.public_id
    (delivery,) = wait_until(
        lambda: [d for d in _deliveries(merchant) if d.status == "succeeded"], timeout=30
    )
    assert delivery.attempt_count == 1  # the killed attempt never got to be recorded
    assert _queue_rows(merchant) == []


def test_failing_receiver_is_retried_and_delivered_once_it_recovers(
    committed_webhooks, receiver, start_worker
):
    merchant = committed_webhooks
    _endpoint(merchant, receiver.url + "/hooks")
    receiver.replies = [Reply(status=500, body=b"boom")]
    start_worker()

    event = _record(merchant, PAYMENT)
    receiver.wait_for(1)
    (delivery,) = wait_until(
        lambda: [d for d in _deliveries(merchant) if d.attempt_count == 1], timeout=30
    )
    assert (delivery.status, delivery.last_status_code) == ("pending", 500)
    wait_seconds = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    # 5 s ± 10 % jitter, counted from the attempt's end: add what the attempt itself took.
    spent = (delivery.updated_at - delivery.last_attempt_at).total_seconds()
    assert 4.5 <= wait_seconds <= 5.5 + spent
    (row,) = _queue_rows(merchant)
    assert row.due_at == delivery.next_attempt_at and row.leased_until is None

    # Five seconds pass.
    _queue_shift(merchant, due_at=timezone.now() - timedelta(seconds=1))

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.public_id
    (delivery,) = wait_until(
        lambda: [d for d in _deliveries(merchant) if d.status == "succeeded"], timeout=30
    )
    attempts = _attempts(merchant, delivery.pk)
    assert [(a.status_code, a.succeeded, a.response_body) for a in attempts] == [
        (500, False, "boom"),
        (200, True, "ok"),
    ]
    assert _queue_rows(merchant) == []


def test_410_gone_disables_the_endpoint(committed_webhooks, receiver, start_worker):
    merchant = committed_webhooks
    endpoint = _endpoint(merchant, receiver.url + "/hooks", events=["payment.succeeded"])
    receiver.default = Reply(status=410, body=b"gone")
    start_worker()

    _record(merchant, PAYMENT)

    receiver.wait_for(1)
    disabled = wait_until(
        lambda: _in_a(merchant, lambda: WebhookEndpoint.objects.filter(enabled=False).first()),
        timeout=30,
    )
    assert disabled.pk == endpoint.pk
    assert disabled.disabled_reason == "The URL answered 410 Gone."
    events = _in_a(merchant, lambda: list(Event.objects.order_by("id").values_list("type")))
    assert events == [("payment.succeeded",), ("webhook_endpoint.disabled",)]
    assert [d.status for d in _deliveries(merchant)] == ["failed"]
    assert _queue_rows(merchant) == []


def test_a_redirect_is_a_failure_and_is_never_followed(committed_webhooks, receiver, start_worker):
    merchant = committed_webhooks
    _endpoint(merchant, receiver.url + "/hooks")
    receiver.default = Reply(status=302, headers={"Location": receiver.url + "/internal"})
    start_worker()

    _record(merchant, PAYMENT)

    (delivery,) = wait_until(
        lambda: [d for d in _deliveries(merchant) if d.attempt_count == 1], timeout=30
    )
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert [r.path for r in receiver.requests] == ["/hooks"]
