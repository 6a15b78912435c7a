"""Webhook events written by the voucher services, in the transaction of the change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from vouchers.models import Voucher
from vouchers.representation import voucher_api_object
from vouchers.services import (
    voucher_credit,
    voucher_expire_due,
    voucher_issue,
    voucher_issue_bulk,
    voucher_redeem,
    voucher_void,
)
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("type", flat=True))


def test_a_partial_redemption_sends_nothing_and_emptying_sends_exhausted(in_merchant_a):
    voucher = voucher_issue(currency="EUR", amount=1000)
    voucher_redeem(
        tenders=[voucher.code], amount=400, currency="EUR", livemode=False, reference="p1"
    )
    assert types() == ["voucher.created"]

    voucher_redeem(
        tenders=[voucher.code], amount=600, currency="EUR", livemode=False, reference="p2"
    )

    assert types() == ["voucher.created", "voucher.exhausted"]
    exhausted = Event.objects.get(type="voucher.exhausted")
    voucher.refresh_from_db()
    assert exhausted.data_object == voucher_api_object(voucher)
    assert (exhausted.data_object["balance"], exhausted.data_object["version"]) == (0, 3)


def test_split_tender_exhausting_one_voucher_sends_one_event(in_merchant_a):
    small = voucher_issue(currency="EUR", amount=300)
    big = voucher_issue(currency="EUR", amount=1000)

    voucher_redeem(
        tenders=[small.code, big.code], amount=500, currency="EUR", livemode=False, reference="p"
    )

    (event,) = Event.objects.filter(type="voucher.exhausted")
    assert event.data_object["id"] == small.public_id


def test_credit_and_void_send_updated_and_expiry_sends_expired(in_merchant_a):
    voucher = voucher_issue(currency="EUR", amount=1000)
    voucher_redeem(
        tenders=[voucher.code], amount=1000, currency="EUR", livemode=False, reference="p"
    )
    voucher_credit(voucher_id=voucher.public_id, amount=200, reference="p", livemode=False)
    other = voucher_issue(currency="EUR", amount=50)
    voucher_void(voucher_id=other.public_id, livemode=False, reason="Lost")
    later = voucher_issue(
        currency="EUR", amount=70, expires_at=timezone.now() + timedelta(seconds=5)
    )

    voucher_expire_due(now=timezone.now() + timedelta(seconds=10))

    assert types() == [
        "voucher.created",
        "voucher.exhausted",
        "voucher.updated",
        "voucher.created",
        "voucher.updated",
        "voucher.created",
        "voucher.expired",
    ]
    expired = Event.objects.get(type="voucher.expired").data_object
    assert (expired["id"], expired["status"], expired["balance"]) == (later.public_id, "expired", 0)


def test_a_failed_change_writes_no_event(in_merchant_a):
    voucher = voucher_issue(currency="EUR", amount=100)
    with pytest.raises(Exception):  # noqa: B017 - any refusal
        voucher_redeem(
            tenders=[voucher.code], amount=101, currency="EUR", livemode=False, reference="p"
        )
    assert types() == ["voucher.created"]
    assert Voucher.objects.get(pk=voucher.pk).balance == 100


def test_bulk_issues_send_events_up_to_the_limit_only(in_merchant_a, monkeypatch):
    from vouchers import issuing

    monkeypatch.setattr(issuing, "BULK_EVENTS_MAX", 3)
    voucher_issue_bulk(count=3, currency="EUR", amount=100)
    assert Event.objects.filter(type="voucher.created").count() == 3
    voucher_issue_bulk(count=4, currency="EUR", amount=100)
    assert Event.objects.filter(type="voucher.created").count() == 3
