"""Faults against real processes: gunicorn, the webhooks dispatcher, Redis and PostgreSQL.

Payments commit and answer 200 with Redis stopped, and their webhooks arrive (delivery needs
PostgreSQL only); a dispatcher killed mid-delivery loses nothing once one runs again; a
dispatcher whose database connections are cut (what a PostgreSQL restart does to its clients)
reconnects and delivers what is committed afterwards.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from superpayment.embedded import EmbeddedRedis
from tests.browser.conftest import web_server
from tests.helpers import committed
from tests.webhooks.support import Dispatcher, Reply, wait_until

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"
SLUG = "fault-shop"
PAYMENTS = 4
DISPATCH_APP = "sp-dispatch-fault-test"


def _drop(merchant) -> None:
    from django_tenants.utils import schema_context

    from checkout.models import Payment
    from tenants.models import Merchant
    from tests.checkout.support import commission_entries_purge

    with schema_context(merchant.schema_name):
        ids = list(Payment.objects.values_list("public_id", flat=True))
    commission_entries_purge(ids)
    connection.set_schema_to_public()
    Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)


@pytest.fixture
def fault_shop(receiver, settings):
    """A merchant of its own (dropped afterwards) with a publishable key for SHOP and a webhook
    endpoint for payments on the test's receiver."""
    from tenants.keys import api_key_create
    from tenants.services import provision_merchant
    from webhooks.endpoints import endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE = True

    def create():
        merchant = provision_merchant(
            slug=SLUG, name="Fault Shop", country="DE", default_currency="EUR"
        ).merchant
        key, _ = api_key_create(
            merchant=merchant,
            kind="publishable",
            mode="test",
            name="Shop",
            actor=None,
            allowed_origins=[SHOP],
        )
        return merchant, key

    merchant, key = committed(create)
    committed(
        lambda: endpoint_create(
            url=receiver.url + "/hooks", enabled_events=["payment.succeeded"], livemode=False
        ),
        merchant.schema_name,
    )
    yield merchant, key
    committed(lambda: _drop(merchant))


def _post(url: str, body: dict, origin: str) -> tuple[int, dict | str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Origin": origin},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, text[:300]


def _session_with_hold(base: str, merchant, key, order_id: str) -> tuple[str, str]:
    """A checkout session whose voucher is held, through the widget and the frame (Redis up:
    adding a code reads the wrong-code counters)."""
    from django_tenants.utils import schema_context

    from checkout.models import CheckoutSession
    from vouchers.services import voucher_issue

    code = committed(lambda: voucher_issue(currency="EUR", amount=5_000).code, merchant.schema_name)
    status, session = _post(
        f"{base}/checkout/widget/sessions",
        {"api_key": key.publishable_key, "amount": "24.90", "order_id": order_id},
        SHOP,
    )
    assert status == 201, session
    frame = f"{base}/checkout/pay/{merchant.slug}/{session['id']}/"
    status, added = _post(frame + "vouchers", {"code": code}, base)
    assert status == 200, added

    def token() -> str:
        with schema_context(merchant.schema_name):
            return CheckoutSession.objects.get(public_id=session["id"]).confirm_token

    return frame, committed(token)


def test_confirms_answer_200_with_redis_stopped_and_their_webhooks_arrive(
    fault_shop, receiver, test_database_url, tmp_path
):
    merchant, key = fault_shop
    redis = EmbeddedRedis(tmp_path / "redis", persistent=False)
    redis.start()
    env = {"REDIS_URL": redis.url, "WEBHOOKS_ALLOW_PRIVATE": "1"}
    servers = web_server(test_database_url, tmp_path / "mail", **env)
    base = next(servers)
    dispatcher = Dispatcher(database_url=test_database_url, extra_env=env).start()
    try:
        sessions = [
            _session_with_hold(base, merchant, key, f"ORDER-FAULT-{n}") for n in range(PAYMENTS)
        ]
        redis.stop()

        answers = [
            _post(frame + "confirm", {"confirm_token": token}, base) for frame, token in sessions
        ]

        assert [status for status, _ in answers] == [200] * PAYMENTS, answers
        paid = sorted(body["payment"]["id"] for _, body in answers)
        requests = receiver.wait_for(PAYMENTS)
        assert sorted(r.json()["data"]["object"]["id"] for r in requests) == paid
        assert {r.json()["type"] for r in requests} == {"payment.succeeded"}
    finally:
        dispatcher.stop()
        servers.close()
        redis.stop()


def _record(merchant, n: int):
    from webhooks.services import event_record

    def record():
        with transaction.atomic():
            return event_record(
                event_type="payment.succeeded",
                data_object={"id": f"pay_fault_{n}", "object": "payment", "version": 1},
                livemode=False,
            )

    return committed(record, merchant.schema_name)


def _pending(merchant) -> list:
    from webhooks.models import Delivery

    return committed(
        lambda: list(Delivery.objects.exclude(status="succeeded")), merchant.schema_name
    )


def test_a_dispatcher_killed_mid_delivery_loses_nothing_once_one_runs_again(
    fault_shop, receiver, test_database_url
):
    from webhooks.queue.models import DueDelivery

    merchant, _key = fault_shop
    release = threading.Event()
    receiver.replies = [Reply(status=200, hold=release)] * 3  # the first three hang
    dispatcher = Dispatcher(database_url=test_database_url, threads=3).start()
    events = [_record(merchant, n) for n in range(10)]
    receiver.wait_for(3)
    dispatcher.kill()  # SIGKILL with three attempts in flight
    release.set()
    assert len(_pending(merchant)) == 10  # three cut mid-request, seven never claimed
    # The leases of the cut attempts outlive the 15 s deadline; move them into the past
    # instead of waiting a minute.
    committed(
        lambda: DueDelivery.objects.filter(schema_name=merchant.schema_name).update(
            leased_until=timezone.now() - timedelta(seconds=1), enqueued_at=None
        )
    )

    restarted = Dispatcher(database_url=test_database_url).start()
    try:
        wait_until(lambda: not _pending(merchant), timeout=60)
        assert _pending(merchant) == []
    finally:
        restarted.stop()
    delivered = {r.headers["webhook-id"] for r in receiver.requests}
    assert delivered == {event.public_id for event in events}  # at least once each


def _dispatcher_connections_cut(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def test_a_dispatcher_whose_database_connections_are_cut_reconnects_and_delivers(
    fault_shop, receiver, test_database_url
):
    merchant, _key = fault_shop
    url = f"{test_database_url}?application_name={DISPATCH_APP}"
    dispatcher = Dispatcher(database_url=url).start()
    try:
        first = _record(merchant, 1)
        receiver.wait_for(1)
        assert wait_until(lambda: _dispatcher_connections_cut(DISPATCH_APP), timeout=30)

        second = _record(merchant, 2)

        requests = receiver.wait_for(2)
        assert [r.headers["webhook-id"] for r in requests] == [first.public_id, second.public_id]
        assert dispatcher.process.poll() is None  # it reconnected rather than exiting
    finally:
        dispatcher.stop()
    assert dispatcher.process.returncode == 0  # SIGTERM: a clean stop
