"""The database itself guards the ledger: append-only, never negative, in every merchant schema."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from tenants.services import provision_merchant
from tests.vouchers.factories import VoucherFactory
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db


def _refused(sql: str, params: list) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    return str(caught.value)


def test_ledger_entries_cannot_be_updated_or_deleted(in_merchant_a):
    voucher = VoucherFactory(amount=1000)
    entry = voucher.ledger_entries.get()

    update = _refused("UPDATE vouchers_voucherledgerentry SET amount = 5 WHERE id = %s", [entry.pk])
    delete = _refused("DELETE FROM vouchers_voucherledgerentry WHERE id = %s", [entry.pk])

    assert "append-only: UPDATE refused" in update
    assert "append-only: DELETE refused" in delete
    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherLedgerEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert (entry.amount, entry.balance_after) == (1000, 1000)


def test_a_negative_balance_is_refused_by_the_database(in_merchant_a):
    voucher = VoucherFactory(amount=1000)

    message = _refused("UPDATE vouchers_voucher SET balance = -1 WHERE id = %s", [voucher.pk])

    assert "voucher_balance_gte_0" in message
    voucher.refresh_from_db()
    assert voucher.balance == 1000


@pytest.mark.parametrize(
    ("kind", "amount", "balance_after", "constraint"),
    [
        ("redeem", 100, 1100, "ledger_amount_sign_by_kind"),
        ("issue", -1, 999, "ledger_amount_sign_by_kind"),
        ("adjustment", 0, 1000, "ledger_amount_sign_by_kind"),
        ("redeem", -2000, -1000, "ledger_balance_after_gte_0"),
    ],
)
def test_ledger_entries_of_the_wrong_shape_are_refused(
    in_merchant_a, kind, amount, balance_after, constraint
):
    voucher = VoucherFactory(amount=1000)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        VoucherLedgerEntry.objects.create(
            voucher=voucher, kind=kind, amount=amount, balance_after=balance_after, reason="r"
        )


def test_an_adjustment_without_a_reason_is_refused_by_the_database(in_merchant_a):
    voucher = VoucherFactory(amount=1000)
    with pytest.raises(IntegrityError, match="ledger_adjustment_has_reason"), transaction.atomic():
        VoucherLedgerEntry.objects.create(
            voucher=voucher, kind="adjustment", amount=5, balance_after=1005
        )


def test_a_newly_provisioned_merchant_keeps_the_ledger_guards():
    merchant = provision_merchant(
        slug="ledger-guard-shop", name="Ledger Guard Shop", country="DE", default_currency="EUR"
    ).merchant

    with schema_context(merchant.schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.pronamespace::regnamespace::text, t.tgname FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE t.tgrelid = 'vouchers_voucherledgerentry'::regclass AND NOT t.tgisinternal"
            )
            assert cursor.fetchall() == [(merchant.schema_name, "vouchers_ledger_append_only")]
        voucher = voucher_issue(currency="EUR", amount=700)
        entry = voucher.ledger_entries.get()
        message = _refused("DELETE FROM vouchers_voucherledgerentry WHERE id = %s", [entry.pk])
        assert "append-only: DELETE refused" in message
        assert _refused("UPDATE vouchers_voucher SET balance = -5 WHERE id = %s", [voucher.pk])
        assert Voucher.objects.get().balance == 700
    connection.set_schema_to_public()


def test_the_debit_statement_names_the_model_tables():
    from vouchers.locks import _DEBIT_SQL, DEBIT_BY_CODE_SQL

    for statement in (_DEBIT_SQL, DEBIT_BY_CODE_SQL):
        assert f"UPDATE {Voucher._meta.db_table}\n" in statement
        assert f"INSERT INTO {VoucherLedgerEntry._meta.db_table}\n" in statement
