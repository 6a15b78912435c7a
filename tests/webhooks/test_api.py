"""The webhooks API: CRUD with the secret shown on create/rotate, events, isolation by merchant
and by mode."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants import keys
from webhooks.endpoints import endpoint_create
from webhooks.models import WebhookEndpoint
from webhooks.services import event_record

pytestmark = pytest.mark.django_db


def _key(merchant, owner, mode: str) -> str:
    _, secret = keys.api_key_create(
        merchant=merchant, kind="secret", mode=mode, name=f"{mode} backend", actor=owner
    )
    return secret


@pytest.fixture
def api(client, merchant_a, owner_a):
    secret = _key(merchant_a, owner_a, "test")

    def call(method: str, path: str, data: dict | None = None, key: str = secret):
        response = getattr(client, method)(
            "/v1/" + path,
            data=data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        connection.set_schema_to_public()
        return response

    return call


def test_create_shows_the_secret_once_then_never(api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    created = api(
        "post",
        "webhook_endpoints",
        {"url": "https://shop.example.com/hooks", "enabled_events": ["payment.succeeded"]},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["enabled_events"] == ["payment.succeeded"]
    assert (body["object"], body["status"], body["livemode"]) == (
        "webhook_endpoint",
        "enabled",
        False,
    )
    fetched = api("get", f"webhook_endpoints/{body['id']}").json()
    assert "secret" not in fetched
    assert [e["id"] for e in api("get", "webhook_endpoints").json()["data"]] == [body["id"]]

    rotated = api("post", f"webhook_endpoints/{body['id']}/rotate_secret", {"expires_in": "24h"})
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (body["secret"], None)

    updated = api("post", f"webhook_endpoints/{body['id']}", {"disabled": True})
    assert updated.json()["status"] == "disabled"
    tested = api("post", f"webhook_endpoints/{body['id']}/test")
    assert tested.status_code == 202 and tested.json()["type"] == "test.webhook"
    deleted = api("delete", f"webhook_endpoints/{body['id']}")
    assert deleted.json() == {"id": body["id"], "object": "webhook_endpoint", "deleted": True}
    assert api("get", f"webhook_endpoints/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://shop.example.com/hooks", "url_refused"),
        ("https://10.0.0.1/hooks", "url_refused"),
        ("https://localhost/hooks", "url_refused"),
        ("ftp://shop.example.com/", "url_invalid"),
    ],
)
def test_unsafe_urls_are_refused(api, settings, url, code):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = api("post", "webhook_endpoints", {"url": url, "enabled_events": ["*"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == "url"


def test_another_merchants_endpoint_and_event_answer_404(api, merchant_b):
    with schema_context(merchant_b.schema_name):
        endpoint = endpoint_create(
            url="https://b.example.com/", enabled_events=["*"], livemode=False
        )
        event = event_record(
            event_type="voucher.created",
            data_object={"id": "vch_b", "object": "voucher", "version": 1},
            livemode=False,
        )
    for method, path in [
        ("get", f"webhook_endpoints/{endpoint.public_id}"),
        ("post", f"webhook_endpoints/{endpoint.public_id}"),
        ("delete", f"webhook_endpoints/{endpoint.public_id}"),
        ("post", f"webhook_endpoints/{endpoint.public_id}/rotate_secret"),
        ("post", f"webhook_endpoints/{endpoint.public_id}/test"),
        ("get", f"events/{event.public_id}"),
    ]:
        response = api(method, path, {})
        assert response.status_code == 404, (method, path)
    assert api("get", "events").json()["data"] == []
    assert api("get", "webhook_endpoints").json()["data"] == []


def test_a_test_key_never_sees_live_objects(api, in_merchant_a, merchant_a, owner_a):
    live = endpoint_create(url="https://l.example.com/", enabled_events=["*"], livemode=True)
    live_event = event_record(
        event_type="voucher.created",
        data_object={"id": "vch_l", "object": "voucher", "version": 1},
        livemode=True,
    )
    test_event = event_record(
        event_type="voucher.updated",
        data_object={"id": "vch_t", "object": "voucher", "version": 2},
        livemode=False,
    )
    connection.set_schema_to_public()
    assert api("get", f"webhook_endpoints/{live.public_id}").status_code == 404
    assert api("get", f"events/{live_event.public_id}").status_code == 404
    assert [e["id"] for e in api("get", "events").json()["data"]] == [test_event.public_id]
    live_key = _key(merchant_a, owner_a, "live")
    assert [e["id"] for e in api("get", "events", key=live_key).json()["data"]] == [
        live_event.public_id
    ]


def test_events_are_paginated_and_filtered_by_type(api, in_merchant_a):
    ids = [
        event_record(
            event_type="voucher.created" if n % 2 else "voucher.updated",
            data_object={"id": f"vch_{n}", "object": "voucher", "version": 1},
            livemode=False,
        ).public_id
        for n in range(5)
    ]
    connection.set_schema_to_public()
    first = api("get", "events?limit=2").json()
    assert [e["id"] for e in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True
    rest = api("get", f"events?limit=10&cursor={first['next_cursor']}").json()
    assert [e["id"] for e in rest["data"]] == ids[::-1][2:]
    created = api("get", "events?type=voucher.created").json()
    assert [e["id"] for e in created["data"]] == [ids[3], ids[1]]
    assert created["data"][0]["data"]["object"]["id"] == "vch_3"
    assert api("get", "events?type=nope").status_code == 400


def test_a_retried_create_with_the_same_idempotency_key_creates_one_endpoint(
    client, merchant_a, owner_a, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    secret = _key(merchant_a, owner_a, "test")
    body = {"url": "https://shop.example.com/hooks", "enabled_events": ["payment.succeeded"]}

    def create():
        return client.post(
            "/v1/webhook_endpoints",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
            HTTP_IDEMPOTENCY_KEY="create-hooks-1",
        )

    first, retried = create(), create()
    connection.set_schema_to_public()

    assert (first.status_code, retried.status_code) == (201, 201)
    assert retried.json() == first.json()  # the same endpoint, its secret included
    assert retried["Idempotent-Replayed"] == "true"
    with schema_context(merchant_a.schema_name):
        assert WebhookEndpoint.objects.count() == 1
