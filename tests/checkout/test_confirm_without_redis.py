"""The payment path depends on PostgreSQL only: with the broker unreachable, a confirm for a
merchant with a webhook endpoint still answers 200, and its delivery waits in the outbox."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from superpayment.celery import app as celery_app
from superpayment.embedded import free_port
from tests.checkout.support import frame_post, issue, open_session, pay
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery
from webhooks.queue.models import DueDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """Celery's broker is a port nothing listens on for the test's duration (Redis is down)."""
    saved_url, saved_pool = celery_app.conf.broker_url, celery_app._pool
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = None
    yield
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app.conf.broker_url, celery_app._pool = saved_url, saved_pool


def test_a_confirm_answers_200_while_the_broker_is_down(
    client, merchant_a, pk_a, settings, broker_down, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with schema_context(merchant_a.schema_name):
        endpoint_create(url="http://127.0.0.1:9/hooks", enabled_events=["*"], livemode=False)
    voucher = issue(merchant_a, 15_000)
    session = open_session(client, pk_a, amount="99.00", order_id="ORDER-NO-REDIS")
    added = frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    assert added.status_code == 200, added.json()

    # What runs after the commit runs here, as it would in production.
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(client, merchant_a, session["id"])

    assert response.status_code == 200, response.content
    assert response.json()["payment"]["amount"] == 9900
    with schema_context(merchant_a.schema_name):
        (delivery,) = Delivery.objects.filter(event__type="payment.succeeded")
    assert delivery.status == "pending"
    connection.set_schema_to_public()
    queued = DueDelivery.objects.filter(schema_name=merchant_a.schema_name)
    assert delivery.pk in {row.delivery_id for row in queued}
