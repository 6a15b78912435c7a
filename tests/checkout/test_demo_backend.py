"""The demo shop's backend marks an order paid only on a verified webhook."""

from __future__ import annotations

import base64
import datetime
import json
import secrets

import pytest
from django.core.cache import caches
from standardwebhooks.webhooks import Webhook

from checkout.demo import DEMO_SLUG
from checkout.demo_backend import DEMO_WEBHOOK_PATH, demo_webhook_endpoint_ensure
from tenants.services import provision_merchant

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_secret(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # as under `make run`: the demo backend is local
    merchant = provision_merchant(
        slug=DEMO_SLUG, name="Demo Shop", country="DE", default_currency="EUR"
    ).merchant
    endpoint = demo_webhook_endpoint_ensure(merchant=merchant)
    assert demo_webhook_endpoint_ensure(merchant=merchant).pk == endpoint.pk  # idempotent
    return endpoint.secret


def _send(
    client,
    secret: str,
    *,
    order_id: str,
    version: int,
    event_type="payment.succeeded",
    msg_id=None,
    amount=2490,
):
    payload = json.dumps(
        {
            "id": "evt_1",
            "type": event_type,
            "livemode": False,
            "data": {
                "object": {
                    "id": "pay_1",
                    "object": "payment",
                    "order_id": order_id,
                    "amount": amount,
                    "currency": "EUR",
                    "version": version,
                }
            },
        }
    )
    msg_id = msg_id or "msg_" + secrets.token_hex(6)
    now = datetime.datetime.now(tz=datetime.UTC)
    signature = Webhook(secret).sign(msg_id, now, payload)
    return client.post(
        DEMO_WEBHOOK_PATH,
        payload,
        content_type="application/json",
        HTTP_WEBHOOK_ID=msg_id,
        HTTP_WEBHOOK_TIMESTAMP=str(int(now.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )


def _status(client, order_id: str) -> dict:
    return client.get(f"/demo/shop/orders/{order_id}").json()


def test_a_verified_webhook_marks_the_order_paid(client, demo_secret):
    order_id = "DEMO-" + secrets.token_hex(4)
    assert _status(client, order_id)["status"] == "unpaid"
    assert _send(client, demo_secret, order_id=order_id, version=1).status_code == 204
    assert _status(client, order_id) == {
        "order_id": order_id,
        "status": "paid",
        "payment": "pay_1",
        "amount": 2490,
        "currency": "EUR",
        "version": 1,
    }


def test_a_forged_webhook_changes_nothing(client, demo_secret):
    order_id = "DEMO-" + secrets.token_hex(4)
    forged = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    assert _send(client, forged, order_id=order_id, version=1).status_code == 400
    assert _status(client, order_id)["status"] == "unpaid"


def test_duplicates_and_older_versions_are_dropped(client, demo_secret):
    order_id = "DEMO-" + secrets.token_hex(4)
    _send(client, demo_secret, order_id=order_id, version=2, event_type="payment.refunded")
    # An older event arriving late (retries overtake) does not undo the newer state.
    _send(client, demo_secret, order_id=order_id, version=1)
    assert _status(client, order_id)["status"] == "refunded"
    caches["global"].delete(f"demo-shop:order:{order_id}")
    _send(client, demo_secret, order_id=order_id, version=3, msg_id="msg_same")
    caches["global"].delete(f"demo-shop:order:{order_id}")
    _send(client, demo_secret, order_id=order_id, version=3, msg_id="msg_same")
    assert _status(client, order_id)["status"] == "unpaid"  # the duplicate was not re-applied


def test_a_webhook_whose_amount_differs_from_the_order_is_not_marked_paid(client, demo_secret):
    order_id = "DEMO-" + secrets.token_hex(4)
    _send(client, demo_secret, order_id=order_id, version=1, amount=1)
    assert _status(client, order_id)["status"] == "amount_mismatch"


def test_without_private_webhooks_the_demo_setup_leaves_the_backend_out_and_says_so(settings):
    # `WEBHOOKS_ALLOW_PRIVATE=0 make run` on a fresh .var/: the demo backend's URL is
    # http://127.0.0.1:…, which the webhook URL check refuses; setup goes on without it.
    from django_tenants.utils import schema_context

    from checkout.demo_backend import demo_backend_setup
    from webhooks.models import WebhookEndpoint

    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    merchant = provision_merchant(
        slug=DEMO_SLUG, name="Demo Shop", country="DE", default_currency="EUR"
    ).merchant

    said = demo_backend_setup(merchant=merchant)

    assert said.startswith(
        "Demo shop backend left out: its webhook URL http://127.0.0.1:8000/demo/shop/webhooks "
        "is refused ("
    )
    assert "WEBHOOKS_ALLOW_PRIVATE" in said
    assert demo_webhook_endpoint_ensure(merchant=merchant) is None
    with schema_context(merchant.schema_name):
        assert not WebhookEndpoint.objects.exists()

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    said = demo_backend_setup(merchant=merchant)
    assert said == "Demo shop backend receives webhooks at http://127.0.0.1:8000/demo/shop/webhooks"
