"""Redeeming: one voucher or several for one amount, all debited or none."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.vouchers.factories import VoucherFactory
from tests.vouchers.support import ledger_totals
from vouchers.errors import NOT_REDEEMABLE_MESSAGE, VoucherError, VoucherErrorCode
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.redemption import VoucherTender
from vouchers.services import VoucherDebit, voucher_balance, voucher_redeem, voucher_void

pytestmark = pytest.mark.usefixtures("in_merchant_a")


def _redeem(tenders, amount, **overrides):
    return voucher_redeem(
        **{
            "tenders": tenders,
            "amount": amount,
            "currency": "EUR",
            "livemode": False,
            "reference": "pay_1",
            **overrides,
        }
    )


def _balances(*vouchers: Voucher) -> list[int]:
    return [Voucher.objects.get(pk=voucher.pk).balance for voucher in vouchers]


def test_redeem_debits_one_voucher_and_writes_its_ledger_entry():
    voucher = VoucherFactory(amount=5000)

    debits = _redeem([voucher.code_display.lower()], 1999, order_id="ORDER_1")

    assert debits == [
        VoucherDebit(
            voucher_id=voucher.public_id,
            code_last4=voucher.code[-4:],
            amount=1999,
            balance_after=3001,
            version=2,
        )
    ]
    voucher.refresh_from_db()
    assert (voucher.balance, voucher.status, voucher.redemption_count) == (3001, "active", 1)
    entry = voucher.ledger_entries.get(kind="redeem")
    assert (entry.amount, entry.balance_after, entry.reference, entry.order_id) == (
        -1999,
        3001,
        "pay_1",
        "ORDER_1",
    )
    assert ledger_totals() == {voucher.pk: (3001, 3001)}


def test_a_voucher_spent_to_zero_is_exhausted():
    voucher = VoucherFactory(amount=700)

    _redeem([voucher.code], 700)

    voucher.refresh_from_db()
    assert (voucher.balance, voucher.status) == (0, "exhausted")
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 1, reference="pay_2")
    assert caught.value.code == VoucherErrorCode.INSUFFICIENT_BALANCE


def test_split_tender_fills_what_is_due_in_the_order_given():
    first, second = VoucherFactory(amount=3000), VoucherFactory(amount=5000)

    debits = _redeem([first.code, second.code], 4500)

    assert [(debit.voucher_id, debit.amount, debit.balance_after) for debit in debits] == [
        (first.public_id, 3000, 0),
        (second.public_id, 1500, 3500),
    ]
    assert _balances(first, second) == [0, 3500]


def test_split_tender_leaves_out_a_voucher_not_needed():
    first, second = VoucherFactory(amount=3000), VoucherFactory(amount=5000)

    debits = _redeem([first.code, second.code], 2000)

    assert [(debit.voucher_id, debit.amount) for debit in debits] == [(first.public_id, 2000)]
    assert _balances(first, second) == [1000, 5000]
    assert VoucherLedgerEntry.objects.filter(kind="redeem").count() == 1


def test_split_tender_with_one_insufficient_voucher_debits_neither_and_names_it():
    rich, poor = VoucherFactory(amount=10_000), VoucherFactory(amount=300)
    tenders = [VoucherTender(rich.code, 500), VoucherTender(poor.code, 500)]

    with pytest.raises(VoucherError) as caught:
        _redeem(tenders, 1000)

    assert caught.value.code == VoucherErrorCode.INSUFFICIENT_BALANCE
    assert caught.value.param == "tenders[1]"
    assert f"…{poor.code[-4:]} holds 300, less than 500" in caught.value.message
    assert _balances(rich, poor) == [10_000, 300]
    assert VoucherLedgerEntry.objects.filter(kind="redeem").count() == 0


def test_split_tender_that_does_not_cover_the_amount_debits_nothing():
    first, second = VoucherFactory(amount=300), VoucherFactory(amount=400)

    with pytest.raises(VoucherError) as caught:
        _redeem([first.code, second.code], 1000)

    assert caught.value.code == VoucherErrorCode.INSUFFICIENT_BALANCE
    assert caught.value.param == "tenders[1]"
    assert "cover 700 of 1000" in caught.value.message
    assert _balances(first, second) == [300, 400]


def test_split_tender_refused_after_a_debit_rolls_the_debit_back(monkeypatch):
    """The plan passes, then the second voucher (in pk order) is voided before its debit."""
    first, second = VoucherFactory(amount=1000), VoucherFactory(amount=1000)
    from vouchers import services

    real_debit = services.voucher_debit

    def debit_then_void_the_other(**kwargs):
        outcome = real_debit(**kwargs)
        if kwargs["pk"] == first.pk:
            voucher_void(voucher_id=second.public_id, livemode=False)
        return outcome

    monkeypatch.setattr(services, "voucher_debit", debit_then_void_the_other)

    with pytest.raises(VoucherError) as caught:
        _redeem([VoucherTender(second.code, 500), VoucherTender(first.code, 500)], 1000)

    assert caught.value.code == VoucherErrorCode.VOUCHER_NOT_REDEEMABLE
    assert caught.value.param == "tenders[0]"
    first.refresh_from_db()
    assert (first.balance, first.redemption_count, first.version) == (1000, 0, 1)
    assert not VoucherLedgerEntry.objects.filter(kind="redeem").exists()


def test_amounts_that_do_not_add_up_are_refused():
    first, second = VoucherFactory(), VoucherFactory()
    with pytest.raises(VoucherError) as caught:
        _redeem([VoucherTender(first.code, 300), VoucherTender(second.code, 300)], 1000)
    assert caught.value.code == VoucherErrorCode.AMOUNT_MISMATCH
    with pytest.raises(VoucherError) as caught:
        _redeem([VoucherTender(first.code, 1300)], 1000)
    assert caught.value.code == VoucherErrorCode.AMOUNT_MISMATCH


def test_the_same_voucher_twice_is_refused():
    voucher = VoucherFactory()
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code, voucher.code_display.lower()], 100)
    assert caught.value.code == VoucherErrorCode.VOUCHER_DUPLICATE
    assert caught.value.param == "tenders[0]"


def _not_redeemable_cases() -> list[str]:
    return [
        "unknown",
        "disabled",
        "expired",
        "expired_unswept",
        "not_yet_valid",
        "currency",
        "mode",
    ]


@pytest.mark.parametrize("case", _not_redeemable_cases())
def test_every_unusable_code_answers_one_uniform_error(case):
    now = timezone.now()
    voucher = VoucherFactory(
        currency="USD" if case == "currency" else "EUR",
        livemode=case == "mode",
        valid_from=now + datetime.timedelta(days=1) if case == "not_yet_valid" else None,
        expires_at=now + datetime.timedelta(days=3),
    )
    code = "NOSUCHCODE2345678" if case == "unknown" else voucher.code
    if case == "disabled":
        voucher_void(voucher_id=voucher.public_id, livemode=False)
    if case == "expired":
        Voucher.objects.filter(pk=voucher.pk).update(status="expired", balance=0)
    redeem_at = now + datetime.timedelta(days=4) if case == "expired_unswept" else now

    with pytest.raises(VoucherError) as redeem_error:
        _redeem([code], 100, now=redeem_at)
    with pytest.raises(VoucherError) as balance_error:
        voucher_balance(code=code, livemode=False, currency="EUR", now=redeem_at)

    for caught, param in [(redeem_error, "tenders[0]"), (balance_error, "code")]:
        assert caught.value.code == VoucherErrorCode.VOUCHER_NOT_REDEEMABLE
        assert caught.value.message == NOT_REDEEMABLE_MESSAGE
        assert caught.value.param == param
    assert not VoucherLedgerEntry.objects.filter(kind="redeem").exists()


def test_balance_by_code_answers_whatever_its_grouping_or_case():
    voucher = VoucherFactory(amount=4200)
    balance = voucher_balance(code=" " + voucher.code_display.lower() + " ", livemode=False)
    assert (balance.balance, balance.currency, balance.code_last4) == (
        4200,
        "EUR",
        voucher.code[-4:],
    )


def _assert_not_redeemable(caught, message: str = NOT_REDEEMABLE_MESSAGE) -> None:
    """A rule that fails answers as an unknown code does (docs/vouchers.md)."""
    error = caught.value
    assert (error.code, error.message, error.param) == (
        VoucherErrorCode.VOUCHER_NOT_REDEEMABLE,
        message,
        "tenders[0]",
    )


def test_min_order_amount_rule_answers_not_redeemable_with_the_minimum_formatted():
    voucher = VoucherFactory(amount=100_000, rules={"min_order_amount": 100_000})
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 99_999)
    _assert_not_redeemable(caught, "This voucher code can only pay an order of at least €1,000.00.")
    assert _redeem([voucher.code], 100_000)[0].amount == 100_000


def test_min_order_amount_is_formatted_with_the_currencys_exponent():
    voucher = VoucherFactory(currency="JPY", amount=9_000, rules={"min_order_amount": 5_000})
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 4_999, currency="JPY")
    assert caught.value.message == "This voucher code can only pay an order of at least ¥5,000."


def test_order_id_prefix_rule():
    voucher = VoucherFactory(rules={"order_id_prefix": "WEB-"})
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 100, order_id="POS-1")
    _assert_not_redeemable(caught)
    with pytest.raises(VoucherError):
        _redeem([voucher.code], 100)
    assert _redeem([voucher.code], 100, order_id="WEB-1")[0].amount == 100


def test_max_redemptions_rule():
    voucher = VoucherFactory(rules={"max_redemptions": 2})
    _redeem([voucher.code], 100, reference="pay_1")
    _redeem([voucher.code], 100, reference="pay_2")
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 100, reference="pay_3")
    _assert_not_redeemable(caught)
    voucher.refresh_from_db()
    assert (voucher.balance, voucher.redemption_count) == (9800, 2)


def test_single_use_rule_allows_one_redemption_even_with_balance_left():
    voucher = VoucherFactory(rules={"single_use": True})
    _redeem([voucher.code], 100)
    with pytest.raises(VoucherError) as caught:
        _redeem([voucher.code], 100, reference="pay_2")
    _assert_not_redeemable(caught)


@pytest.mark.parametrize(
    ("overrides", "code", "param"),
    [
        ({"amount": 0}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"amount": 1.0}, VoucherErrorCode.AMOUNT_INVALID, "amount"),
        ({"currency": "XYZ"}, VoucherErrorCode.CURRENCY_INVALID, "currency"),
        ({"reference": " "}, VoucherErrorCode.REFERENCE_INVALID, "reference"),
        ({"reference": "r" * 65}, VoucherErrorCode.REFERENCE_INVALID, "reference"),
        ({"order_id": "o" * 65}, VoucherErrorCode.REFERENCE_INVALID, "order_id"),
        ({"tenders": []}, VoucherErrorCode.CODE_INVALID, "tenders"),
        ({"tenders": [VoucherTender("ABCDEFGHJKMN", 0)]}, VoucherErrorCode.AMOUNT_INVALID, None),
    ],
)
def test_redeem_refuses_bad_input(overrides, code, param):
    voucher = VoucherFactory()
    with pytest.raises(VoucherError) as caught:
        _redeem(overrides.pop("tenders", [voucher.code]), overrides.pop("amount", 100), **overrides)
    assert caught.value.code == code
    if param:
        assert caught.value.param == param


def test_redeem_takes_its_debit_once_per_call_and_raises_the_version():
    voucher = VoucherFactory(amount=1000)
    _redeem([voucher.code], 100, reference="pay_1")
    _redeem([voucher.code], 100, reference="pay_2")
    voucher.refresh_from_db()
    assert (voucher.balance, voucher.version, voucher.redemption_count) == (800, 3, 2)
    assert list(voucher.ledger_entries.values_list("kind", "amount", "balance_after")) == [
        ("issue", 1000, 1000),
        ("redeem", -100, 900),
        ("redeem", -100, 800),
    ]


def test_a_one_voucher_payment_is_one_statement():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from superpayment.prepared import _statement_rendered
    from vouchers import locks

    voucher = VoucherFactory(amount=5000)
    with CaptureQueriesContext(connection) as queries:
        _redeem([voucher.code], 1500)

    # The prepared debit alone: no ORM query, no SET search_path.
    debit = _statement_rendered(locks.DEBIT_BY_CODE_SQL, "public")
    assert [query["sql"] for query in queries.captured_queries] == [debit.decode()]
    voucher.refresh_from_db()
    assert (voucher.balance, voucher.ledger_entries.count()) == (3500, 2)


def test_the_debit_statement_runs_server_side_prepared():
    from django.db import connection

    voucher = VoucherFactory(amount=5000)
    _redeem([voucher.code], 100)
    _redeem([voucher.code], 100)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(generic_plans + custom_plans) FROM pg_prepared_statements"
            " WHERE statement LIKE %s AND NOT from_sql",
            ["%vouchers_voucherledgerentry%"],
        )
        prepared, executions = cursor.fetchone()
    # Parsed and planned once per connection; Django's own queries stay unprepared.
    assert prepared == 1
    assert executions == 2
    voucher.refresh_from_db()
    assert voucher.balance == 4800


def test_a_one_voucher_redemption_is_one_round_trip(merchant_a):
    """The hot path (bench/vouchers.py): one statement, committed by itself, counted on the wire
    (tests.roundtrips); the debit and its ledger entry are written."""

    from tests.helpers import committed
    from tests.roundtrips import through_proxy
    from tests.vouchers.support import vouchers_purge
    from vouchers.services import voucher_issue

    schema = merchant_a.schema_name
    voucher = committed(lambda: voucher_issue(currency="EUR", amount=10_000), schema)

    def redeem_twice(proxy) -> int:
        _redeem([voucher.code], 100, reference="warm-up")  # connects, sets the search_path
        proxy.reset()
        _redeem([voucher.code], 100, reference="counted")
        return proxy.round_trips

    try:
        assert through_proxy(redeem_twice, schema) == 1
        entries = committed(
            lambda: list(
                VoucherLedgerEntry.objects.filter(voucher_id=voucher.pk)
                .order_by("pk")
                .values_list("reference", "balance_after")
            ),
            schema,
        )
        assert entries[-2:] == [("warm-up", 9_900), ("counted", 9_800)]
    finally:
        committed(vouchers_purge, schema)  # with the voucher.created event its issue recorded
