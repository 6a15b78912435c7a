"""The audit log: rows for key changes, written in the change's transaction, append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Max
from django.test import RequestFactory

from tenants.audit import audit_record, client_ip
from tenants.errors import ApiKeyError
from tenants.keys import api_key_create, api_key_revoke, api_key_roll
from tenants.models import ActorType, ApiKey, AuditAction, AuditLog, User
from tenants.selectors import audit_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner-audit@example.com", "pw-long-enough-1")


@pytest.fixture
def portal_request(owner):
    request = RequestFactory().post(
        "/dashboard/test-alpha/keys",
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) " + "x" * 400,
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    request.user = owner
    return request


def _rows_since(start: int, **filters) -> list:
    # Other tests commit audit rows on the shared merchants (the table is append-only).
    return [row for row in audit_list(**filters) if row.pk > start]


def _last_pk() -> int:
    return AuditLog.objects.aggregate(last=Max("pk"))["last"] or 0


def test_key_create_roll_revoke_write_audit_rows(merchant_a, owner, portal_request):
    start = _last_pk()
    key, _raw = api_key_create(
        merchant=merchant_a,
        kind="secret",
        mode="live",
        name="Backend",
        actor=owner,
        request=portal_request,
    )
    new, _ = api_key_roll(
        key=key, actor=owner, expires_in=timedelta(hours=1), request=portal_request
    )
    api_key_revoke(key=new, actor=owner, request=portal_request)

    rows = _rows_since(start, merchant=merchant_a)
    assert [row.action for row in rows] == [
        AuditAction.API_KEY_REVOKED,
        AuditAction.API_KEY_ROLLED,
        AuditAction.API_KEY_CREATED,
    ]
    for row in rows:
        assert row.actor == owner
        assert row.actor_type == ActorType.USER
        assert row.actor_email == "owner-audit@example.com"
        assert row.merchant == merchant_a
        assert row.ip_address == "203.0.113.7"
        assert row.user_agent.startswith("Mozilla/5.0 (X11; Linux x86_64) xxx")
        assert len(row.user_agent) == 256
        assert row.target_type == "tenants.apikey"
    revoked, rolled, created = rows
    assert created.target_id == str(key.pk)
    assert created.details == {
        "name": "Backend",
        "kind": "secret",
        "mode": "live",
        "key": key.masked,
    }
    key.refresh_from_db()
    assert rolled.target_id == str(key.pk)
    assert rolled.details["expires_at"] == key.expires_at.isoformat()
    assert rolled.details["replaced_by"] == new.pk
    assert revoked.target_id == str(new.pk)


def test_no_audit_row_when_the_change_rolls_back(merchant_a, owner):
    before = AuditLog.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        api_key_create(merchant=merchant_a, kind="secret", mode="test", name="Backend", actor=owner)
        assert AuditLog.objects.count() == before + 1
        raise RuntimeError("the surrounding use case failed")

    assert AuditLog.objects.count() == before
    assert not ApiKey.objects.filter(merchant=merchant_a).exists()


def test_no_audit_row_when_the_service_refuses(merchant_a, owner):
    key, _ = api_key_create(
        merchant=merchant_a, kind="secret", mode="test", name="Backend", actor=owner
    )
    before = AuditLog.objects.count()

    with pytest.raises(ApiKeyError):
        api_key_roll(key=key, actor=owner, expires_in=timedelta(minutes=3))

    assert AuditLog.objects.count() == before


def test_forwarded_headers_are_not_trusted_for_the_ip():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="not-an-ip")) is None
    assert client_ip(None) is None


def test_actor_defaults_to_the_requests_user_then_to_system(merchant_a, portal_request, owner):
    from_request = audit_record(
        action=AuditAction.USER_LOGIN, request=portal_request, target=("user", owner.pk)
    )
    system = audit_record(action=AuditAction.MERCHANT_SUSPENDED, merchant=merchant_a)
    stripe = audit_record(action="merchant.reactivated", actor="stripe", merchant=merchant_a)

    assert (from_request.actor, from_request.actor_type, from_request.merchant) == (
        owner,
        "user",
        None,
    )
    assert (from_request.target_type, from_request.target_id) == ("user", str(owner.pk))
    assert (system.actor, system.actor_type, system.actor_email, system.ip_address) == (
        None,
        "system",
        "",
        None,
    )
    assert (stripe.actor_type, stripe.action) == ("stripe", "merchant.reactivated")


def test_unknown_actions_and_actor_kinds_are_refused(merchant_a):
    with pytest.raises(ValueError):
        audit_record(action="key.stolen", merchant=merchant_a)
    with pytest.raises(ValueError):
        audit_record(action=AuditAction.USER_LOGIN, actor="martian")


def test_audit_rows_cannot_be_changed_or_deleted(merchant_a):
    row = audit_record(action=AuditAction.MERCHANT_SUSPENDED, merchant=merchant_a)

    row.details = {"reason": "rewritten"}
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()
    row.refresh_from_db()
    assert row.details == {}


def test_audit_list_is_per_merchant_and_newest_first(merchant_a, merchant_b):
    start = _last_pk()
    first = audit_record(action=AuditAction.MERCHANT_SUSPENDED, merchant=merchant_a)
    audit_record(action=AuditAction.MERCHANT_SUSPENDED, merchant=merchant_b)
    second = audit_record(action=AuditAction.MERCHANT_REACTIVATED, merchant=merchant_a)
    platform = audit_record(action=AuditAction.USER_LOGIN)

    assert _rows_since(start, merchant=merchant_a) == [second, first]
    assert _rows_since(start, merchant=merchant_a, actions=["merchant.suspended"]) == [first]
    assert platform in audit_list(merchant=None)
    assert first not in audit_list(merchant=None)


def test_a_new_audit_action_needs_no_migration():
    """The choices label and validate rows (admin filters, forms) but stay out of migrations,
    which used to repeat the whole list for every new action."""
    field = AuditLog._meta.get_field("action")
    assert "choices" not in field.deconstruct()[3]
    assert field.choices == AuditAction.choices
