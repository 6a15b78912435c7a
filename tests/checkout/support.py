"""Helpers for checkout tests: keys, the widget's and the frame's requests."""

from __future__ import annotations

import json

from django.test import Client
from django_tenants.utils import schema_context

from tenants.keys import api_key_create
from tenants.models import ApiKey
from tests.factories import UserFactory
from vouchers.services import voucher_issue

SHOP = "https://shop.example"
PLATFORM = "http://testserver"


def publishable_key(merchant, *, origins=(SHOP,), mode: str = "test") -> ApiKey:
    key, _ = api_key_create(
        merchant=merchant,
        kind="publishable",
        mode=mode,
        name="Shop",
        actor=UserFactory(),
        allowed_origins=list(origins),
    )
    return key


def secret_key(merchant, *, mode: str = "test") -> str:
    _key, raw = api_key_create(
        merchant=merchant, kind="secret", mode=mode, name="Backend", actor=UserFactory()
    )
    return raw


def widget_open(client: Client, key: ApiKey | str, *, origin: str | None = SHOP, **fields):
    raw = key if isinstance(key, str) else key.publishable_key
    body = {"api_key": raw} | fields
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        "/checkout/widget/sessions", json.dumps(body), content_type="text/plain", **headers
    )


def open_session(client: Client, key: ApiKey, **fields) -> dict:
    fields = {"amount": "99.00", "order_id": "ORDER-1"} | fields
    response = widget_open(client, key, **fields)
    assert response.status_code == 201, response.json()
    return response.json()


def frame_path(merchant, session_id: str, action: str = "") -> str:
    return f"/checkout/pay/{merchant.slug}/{session_id}/{action}"


def frame_post(client: Client, merchant, session_id: str, action: str, body=None, **headers):
    headers.setdefault("HTTP_ORIGIN", PLATFORM)
    return client.post(
        frame_path(merchant, session_id, action),
        json.dumps(body or {}),
        content_type="application/json",
        **headers,
    )


def confirm_token(merchant, session_id: str) -> str:
    from checkout.models import CheckoutSession

    with schema_context(merchant.schema_name):
        return CheckoutSession.objects.get(public_id=session_id).confirm_token


def issue(merchant, amount: int, **kwargs):
    with schema_context(merchant.schema_name):
        return voucher_issue(currency=kwargs.pop("currency", "EUR"), amount=amount, **kwargs)


def pay(client: Client, merchant, session_id: str, *codes: str, **confirm):
    for code in codes:
        response = frame_post(client, merchant, session_id, "vouchers", {"code": code})
        assert response.status_code == 200, response.json()
    body = {"confirm_token": confirm_token(merchant, session_id)} | confirm
    return frame_post(client, merchant, session_id, "confirm", body)


def commission_entries_purge(payment_ids) -> None:
    """Remove committed test-mode commission entries (the table's trigger makes them
    append-only, so the trigger is skipped for this one cleanup transaction)."""
    from django.db import connection, transaction

    from billing.models import CommissionEntry

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        CommissionEntry.objects.filter(payment_id__in=list(payment_ids), livemode=False).delete()
