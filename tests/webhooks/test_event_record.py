"""event_record: the event, its deliveries and queue rows commit or roll back with the change."""

from __future__ import annotations

import pytest
from django.db import transaction

from webhooks.errors import WebhookError
from webhooks.events import EventType
from webhooks.models import Delivery, Event, WebhookEndpoint
from webhooks.queue.models import DueDelivery
from webhooks.services import event_record

pytestmark = pytest.mark.django_db

VOUCHER = {"id": "vch_1", "object": "voucher", "version": 3, "balance": 500, "currency": "EUR"}


def _endpoint(**fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=fields.pop("url", "https://shop.example.com/hooks"),
        enabled_events=fields.pop("enabled_events", ["*"]),
        **fields,
    )


def test_event_and_one_delivery_per_subscribed_enabled_endpoint(in_merchant_a):
    every = _endpoint()
    payments_only = _endpoint(enabled_events=["payment.succeeded"])
    vouchers = _endpoint(enabled_events=["voucher.created"])
    _endpoint(enabled=False)
    _endpoint(livemode=True)

    event = event_record(event_type=EventType.VOUCHER_CREATED, data_object=VOUCHER, livemode=False)

    assert event.public_id.startswith("evt_")
    payload = event.payload()
    assert payload == {
        "id": event.public_id,
        "object": "event",
        "type": "voucher.created",
        "created": int(event.created_at.timestamp()),
        "livemode": False,
        "api_version": event.api_version,
        "data": {"object": VOUCHER},
    }
    deliveries = Delivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {every.pk, vouchers.pk}
    assert payments_only.pk not in {d.endpoint_id for d in deliveries}
    rows = DueDelivery.objects.filter(schema_name=in_merchant_a.schema_name)
    assert sorted(rows.values_list("delivery_id", flat=True)) == sorted(d.pk for d in deliveries)


def test_rolled_back_change_leaves_no_event_and_no_delivery(in_merchant_a):
    _endpoint()
    before = (Event.objects.count(), Delivery.objects.count(), DueDelivery.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record(event_type="voucher.updated", data_object=VOUCHER, livemode=False)
        raise RuntimeError("the change failed")
    assert (Event.objects.count(), Delivery.objects.count(), DueDelivery.objects.count()) == before


def test_unknown_type_missing_keys_and_oversized_payload_are_refused(in_merchant_a):
    with pytest.raises(WebhookError) as unknown:
        event_record(event_type="voucher.eaten", data_object=VOUCHER, livemode=False)
    assert unknown.value.code == "event_type_invalid"
    with pytest.raises(WebhookError) as missing:
        event_record(event_type="voucher.created", data_object={"id": "vch_1"}, livemode=False)
    assert missing.value.code == "event_data_invalid"
    with pytest.raises(WebhookError) as large:
        event_record(
            event_type="voucher.created",
            data_object={**VOUCHER, "metadata": {"x": "y" * 20_000}},
            livemode=False,
        )
    assert large.value.code == "payload_too_large"
    assert Event.objects.count() == 0


def test_must_run_in_a_merchant_schema(db):
    with pytest.raises(RuntimeError):
        event_record(event_type="voucher.created", data_object=VOUCHER, livemode=False)


def test_a_deleted_merchants_queue_rows_go_with_it_and_its_name_can_be_used_again():
    """Queue rows are keyed by schema name: a merchant created later under the same name starts
    its delivery ids at 1 again and must not collide with rows left behind."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.models import Merchant
    from tenants.services import provision_merchant

    shop = {"slug": "reused-name", "name": "Reused Name", "country": "DE"}
    for _ in range(2):
        merchant = provision_merchant(**shop, default_currency="EUR").merchant
        with schema_context(merchant.schema_name):
            _endpoint()
            with transaction.atomic():
                event_record(
                    event_type=EventType.VOUCHER_CREATED, data_object=VOUCHER, livemode=False
                )
            assert Delivery.objects.get().pk == 1
        assert DueDelivery.objects.filter(schema_name=merchant.schema_name).count() == 1
        connection.set_schema_to_public()
        with connection.cursor() as cursor:  # run the deferred FK checks before the DROP
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        Merchant.objects.get(pk=merchant.pk).delete(force_drop=True)
        assert not DueDelivery.objects.filter(schema_name=merchant.schema_name).exists()
