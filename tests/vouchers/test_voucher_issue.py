"""Issuing: one voucher or many, each with a fresh code and its opening ledger entry."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from tests.vouchers.factories import VoucherFactory
from vouchers import codes as voucher_codes
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.selectors import voucher_list
from vouchers.services import voucher_issue, voucher_issue_bulk

pytestmark = pytest.mark.usefixtures("in_merchant_a")


def test_issue_stores_the_voucher_and_its_issue_entry():
    voucher = voucher_issue(
        currency="eur",
        amount=5000,
        livemode=True,
        rules={"max_redemptions": 2},
        metadata={"campaign": "winter"},
        created_by=42,
    )

    voucher.refresh_from_db()
    assert re.fullmatch(r"vch_[0-9a-f]{24}", voucher.public_id)
    assert len(voucher.code) == 16
    assert (voucher.currency, voucher.initial_amount, voucher.balance) == ("EUR", 5000, 5000)
    assert (voucher.status, voucher.livemode, voucher.version) == ("active", True, 1)
    assert voucher.rules == {"max_redemptions": 2}
    assert voucher.metadata == {"campaign": "winter"}
    assert voucher.created_by == 42
    entries = list(voucher.ledger_entries.values_list("kind", "amount", "balance_after", "actor"))
    assert entries == [("issue", 5000, 5000, 42)]


def test_issue_with_a_prefix_and_longer_code():
    voucher = voucher_issue(currency="EUR", amount=100, prefix="gift", length=20)
    assert voucher.code.startswith("GIFT")
    assert len(voucher.code) == 24


def test_an_imported_code_is_normalised_and_unique_per_merchant():
    voucher = voucher_issue(currency="EUR", amount=100, code="old-card 0001-2345")
    assert voucher.code == "OLDCARD00012345"

    with pytest.raises(VoucherError) as caught:
        voucher_issue(currency="EUR", amount=100, code="OLDCARD-0001-2345")
    assert caught.value.code == VoucherErrorCode.CODE_TAKEN
    assert caught.value.param == "code"
    assert Voucher.objects.filter(code="OLDCARD00012345").count() == 1


def test_a_generated_code_that_collides_is_drawn_again(monkeypatch):
    existing = VoucherFactory()
    draws = iter([existing.code, "FRESHCODE2345678"])
    monkeypatch.setattr("vouchers.issuing.code_generate", lambda **_: next(draws))

    voucher = voucher_issue(currency="EUR", amount=100)

    assert voucher.code == "FRESHCODE2345678"
    assert Voucher.objects.count() == 2
    assert VoucherLedgerEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "code", "param"),
    [
        ({"amount": 0}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"amount": -5}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"amount": 10.5}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"amount": True}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"currency": "EURO"}, VoucherErrorCode.CURRENCY_INVALID, "currency"),
        ({"length": 12}, VoucherErrorCode.CODE_TOO_WEAK, "length"),
        ({"prefix": "BAD PREFIX!"}, VoucherErrorCode.CODE_INVALID, "prefix"),
        ({"rules": {"bogus": 1}}, VoucherErrorCode.RULES_INVALID, "rules.bogus"),
        ({"metadata": {"k": "v" * 501}}, VoucherErrorCode.METADATA_INVALID, "metadata.k"),
        (
            {"expires_at": timezone.now() - datetime.timedelta(seconds=1)},
            VoucherErrorCode.VALIDITY_INVALID,
            "expires_at",
        ),
        (
            {
                "valid_from": timezone.now() + datetime.timedelta(days=2),
                "expires_at": timezone.now() + datetime.timedelta(days=1),
            },
            VoucherErrorCode.VALIDITY_INVALID,
            "valid_from",
        ),
    ],
)
def test_issue_refuses_bad_terms_and_stores_nothing(overrides, code, param):
    with pytest.raises(VoucherError) as caught:
        voucher_issue(**{"currency": "EUR", "amount": 1000, **overrides})
    assert caught.value.code == code
    assert caught.value.param == param
    assert Voucher.objects.count() == 0
    assert VoucherLedgerEntry.objects.count() == 0


def test_bulk_issue_creates_distinct_codes_each_with_its_issue_entry():
    expires_at = timezone.now() + datetime.timedelta(days=365)

    vouchers = voucher_issue_bulk(
        count=1234, currency="EUR", amount=2500, expires_at=expires_at, batch_size=500
    )

    assert len(vouchers) == 1234
    assert len({voucher.code for voucher in vouchers}) == 1234
    assert all(voucher.pk for voucher in vouchers)
    assert Voucher.objects.filter(balance=2500, expires_at=expires_at).count() == 1234
    assert (
        VoucherLedgerEntry.objects.filter(kind="issue", amount=2500, balance_after=2500).count()
        == 1234
    )


def test_bulk_issue_draws_again_codes_already_stored(monkeypatch):
    existing = VoucherFactory()
    draws = iter([existing.code, "BULKCODE00000001", "BULKCODE00000001", "BULKCODE00000002"])
    monkeypatch.setattr("vouchers.issuing.code_generate", lambda **_: next(draws))

    vouchers = voucher_issue_bulk(count=2, currency="EUR", amount=100)

    assert sorted(voucher.code for voucher in vouchers) == ["BULKCODE00000001", "BULKCODE00000002"]


@pytest.mark.parametrize("count", [0, 100_001, "10"])
def test_bulk_issue_refuses_a_bad_count(count):
    with pytest.raises(VoucherError) as caught:
        voucher_issue_bulk(count=count, currency="EUR", amount=100)
    assert caught.value.code == VoucherErrorCode.COUNT_INVALID


def test_bulk_issue_refuses_a_weak_code_length_before_inserting():
    with pytest.raises(VoucherError) as caught:
        voucher_issue_bulk(count=10, currency="EUR", amount=100, length=8)
    assert caught.value.code == VoucherErrorCode.CODE_TOO_WEAK
    assert Voucher.objects.count() == 0


def test_lists_show_only_the_last_four_characters_of_a_code():
    voucher = VoucherFactory(livemode=True)
    VoucherFactory(livemode=False)

    rows = list(voucher_list(livemode=True))

    assert len(rows) == 1
    assert rows[0]["code_last4"] == voucher.code[-4:]
    assert rows[0]["public_id"] == voucher.public_id
    assert "code" not in rows[0]
    assert voucher.code not in repr(rows)


def test_codes_generated_by_the_service_use_only_the_alphabet():
    vouchers = voucher_issue_bulk(count=200, currency="EUR", amount=100)
    symbols = set("".join(voucher.code for voucher in vouchers))
    assert symbols <= set(voucher_codes.CODE_ALPHABET)
