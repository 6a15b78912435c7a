"""Portal pages: add an endpoint (secret shown once), deliveries with filters, resend, catalogue."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from tests.conftest import member_of
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.services import event_record

pytestmark = pytest.mark.django_db


def test_add_endpoint_test_it_and_resend(client, merchant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client.force_login(member_of(merchant_a, "developer"))
    slug = merchant_a.slug
    response = client.post(
        reverse("portal:webhooks", args=[slug]),
        {
            "url": "https://shop.example.com/hooks",
            "description": "shop",
            "all_events": "on",
            "mode": "test",
        },
    )
    with schema_context(merchant_a.schema_name):
        endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert endpoint.secret in page.content.decode()
    assert endpoint.secret not in client.get(response["Location"]).content.decode()

    client.post(reverse("portal:webhook_test", args=[slug, endpoint.public_id]))
    with schema_context(merchant_a.schema_name):
        event_record(
            event_type="voucher.created",
            data_object={"id": "vch_1", "object": "voucher", "version": 1},
            livemode=False,
        )
        deliveries = {d.event.type: d for d in Delivery.objects.select_related("event")}
    detail = reverse("portal:webhook_detail", args=[slug, endpoint.public_id])
    listed = client.get(detail, {"type": "voucher.created"}).content.decode()
    assert deliveries["voucher.created"].public_id in listed
    assert deliveries["test.webhook"].public_id not in listed
    assert deliveries["test.webhook"].public_id in client.get(detail).content.decode()

    delivery = deliveries["voucher.created"]
    with schema_context(merchant_a.schema_name):
        Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    url = reverse("portal:webhook_delivery", args=[slug, endpoint.public_id, delivery.public_id])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    with schema_context(merchant_a.schema_name):
        assert Delivery.objects.get(pk=delivery.pk).status == "pending"


def test_a_bad_url_is_a_form_error(client, merchant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client.force_login(member_of(merchant_a, "owner"))
    response = client.post(
        reverse("portal:webhooks", args=[merchant_a.slug]),
        {"url": "https://169.254.169.254/", "all_events": "on", "mode": "test"},
    )
    assert response.status_code == 200
    assert "link-local" in response.content.decode()


def test_viewers_see_the_catalogue_but_not_endpoints(client, merchant_a):
    client.force_login(member_of(merchant_a, "viewer"))
    catalogue = client.get(reverse("portal:webhook_events", args=[merchant_a.slug]))
    assert catalogue.status_code == 200
    assert "voucher.enumeration_suspected" in catalogue.content.decode()
    assert client.get(reverse("portal:webhooks", args=[merchant_a.slug])).status_code == 403
