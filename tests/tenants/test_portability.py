"""merchant_export / merchant_import: one merchant out and back in under another slug."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from checkout.sessions import checkout_session_create
from duework.models import DueWork
from tenants.keys import api_key_create
from tenants.models import ApiKey, Membership, Merchant
from tenants.portability import _schema_tables, _table_rows
from tenants.services import provision_merchant
from tests.factories import MembershipFactory
from vouchers.models import Voucher
from vouchers.redemption import VoucherTender
from vouchers.services import voucher_issue, voucher_redeem

pytestmark = pytest.mark.django_db


def _every_row(schema_name: str) -> dict[str, list[dict]]:
    return {table: _table_rows(schema_name, table) for table in _schema_tables(schema_name)}


@pytest.fixture
def source():
    merchant = provision_merchant(
        slug="export-src", name="Export Source", country="DE", default_currency="EUR"
    ).merchant
    owner = MembershipFactory(merchant=merchant, role="owner").user
    api_key_create(merchant=merchant, kind="secret", mode="test", name="Old", actor=owner)
    with schema_context(merchant.schema_name):
        voucher = voucher_issue(
            currency="EUR",
            amount=5000,
            code="EXPORT-0001-AAAA",
            expires_at=timezone.now() + datetime.timedelta(days=30),
        )
        voucher_issue(currency="EUR", amount=700, livemode=True)
        voucher_redeem(
            tenders=[VoucherTender(code=voucher.code, amount=1200)],
            amount=1200,
            currency="EUR",
            livemode=False,
            reference="pay_export",
            order_id="ORDER-EXPORT",
        )
        checkout_session_create(
            livemode=False, amount=300, currency="EUR", order_id="ORDER-OPEN", source="server"
        )
    connection.set_schema_to_public()
    return merchant, owner


def test_export_then_import_under_another_slug_restores_every_row(source, tmp_path):
    merchant, owner = source
    path = tmp_path / "export.json"
    before = _every_row(merchant.schema_name)
    assert before["vouchers_voucher"] and before["vouchers_voucherledgerentry"]

    call_command("merchant_export", "export-src", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("merchant_import", str(path), "export-copy", stdout=open("/dev/null", "w"))  # noqa: SIM115

    copy = Merchant.objects.get(slug="export-copy")
    after = _every_row(copy.schema_name)
    migrations = "django_migrations"
    assert {t: r for t, r in after.items() if t != migrations} == {
        t: r for t, r in before.items() if t != migrations
    }
    assert (copy.name, copy.country, copy.default_currency) == ("Export Source", "DE", "EUR")
    assert Membership.objects.get(merchant=copy).user == owner
    # Keys are reissued, never moved; the due work came along.
    assert not ApiKey.objects.filter(merchant=copy).exists()
    assert set(
        DueWork.objects.filter(schema_name=copy.schema_name).values_list("kind", flat=True)
    ) == set(
        DueWork.objects.filter(schema_name=merchant.schema_name).values_list("kind", flat=True)
    )
    assert json.loads(path.read_text())["public"]["tenants_apikey"]  # exported for the record


def test_the_restored_merchant_works_with_a_new_key(source, tmp_path):
    _merchant, owner = source
    path = tmp_path / "export.json"
    call_command("merchant_export", "export-src", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("merchant_import", str(path), "export-copy", stdout=open("/dev/null", "w"))  # noqa: SIM115
    copy = Merchant.objects.get(slug="export-copy")
    _key, raw = api_key_create(merchant=copy, kind="secret", mode="test", name="New", actor=owner)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listed = client.get("/v1/vouchers").json()["data"]
    balance = client.post(
        "/v1/vouchers/balance", {"code": "EXPORT-0001-AAAA"}, content_type="application/json"
    ).json()
    created = client.post(
        "/v1/vouchers", {"amount": 100, "currency": "EUR"}, content_type="application/json"
    )

    assert len(listed) == 1  # the test-mode voucher (the live one needs a live key)
    assert balance["balance"] == 3800
    assert created.status_code == 201  # ids continue after the restored ones
    connection.set_schema_to_public()
    with schema_context(copy.schema_name):
        assert Voucher.objects.count() == 3


def test_import_refuses_an_existing_slug(source, tmp_path):
    path = tmp_path / "export.json"
    call_command("merchant_export", "export-src", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    with pytest.raises(Exception, match="exists"):
        call_command("merchant_import", str(path), "export-src")
