"""API key services: creation, hashing, rolling, revoking, origins, authentication."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.errors import ApiKeyError, ApiKeyErrorCode
from tenants.keys import (
    KEY_ALPHABET,
    KEY_RANDOM_LENGTH,
    api_key_authenticate,
    api_key_create,
    api_key_hash,
    api_key_revoke,
    api_key_roll,
    api_key_update_origins,
)
from tenants.models import ApiKey, Merchant, User
from tenants.origins import allowed_origins_validate, origin_normalise

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner-keys@example.com", "pw-long-enough-1")


def secret_key(merchant, actor, *, mode="test", name="Backend") -> tuple[ApiKey, str]:
    return api_key_create(merchant=merchant, kind="secret", mode=mode, name=name, actor=actor)


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL the code under test ran (django-tenants' own `SET search_path` left out)."""
    return [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]


def row_as_text(model, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT row_to_json(t)::text FROM {model._meta.db_table} t WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


def test_secret_key_has_its_format_and_at_least_128_bits_of_randomness(merchant_a, owner):
    key, raw = secret_key(merchant_a, owner, mode="live")

    assert re.fullmatch(r"sk_live_[0-9A-Za-z]{32}", raw)
    assert KEY_RANDOM_LENGTH * math.log2(len(KEY_ALPHABET)) >= 128
    assert key.kind == ApiKey.Kind.SECRET
    assert key.mode == ApiKey.Mode.LIVE
    assert key.prefix == raw[:12]
    assert key.last4 == raw[-4:]
    assert key.masked == f"{raw[:12]}…{raw[-4:]}"
    assert key.created_by == owner


def test_secret_keys_are_all_different(merchant_a, owner):
    raws = {secret_key(merchant_a, owner)[1] for _ in range(20)}
    assert len(raws) == 20


def test_database_never_stores_the_secret_key_in_clear(merchant_a, owner):
    key, raw = secret_key(merchant_a, owner)

    row = row_as_text(ApiKey, key.pk)
    assert raw not in row
    assert raw[12:] not in row  # not even the part after the display prefix
    assert api_key_hash(raw) in row
    for audit_row in connection.cursor().execute(
        "SELECT row_to_json(a)::text FROM tenants_auditlog a"
    ):
        assert raw[12:] not in audit_row[0]


def test_publishable_key_is_kept_in_clear_and_returns_no_secret(merchant_a, owner):
    key, secret = api_key_create(
        merchant=merchant_a,
        kind="publishable",
        mode="test",
        name="Widget",
        actor=owner,
        allowed_origins=["https://Shop.Example:443/", "https://shop.example"],
    )

    assert secret is None
    assert re.fullmatch(r"pk_test_[0-9A-Za-z]{32}", key.publishable_key)
    assert key.masked == key.publishable_key
    assert key.allowed_origins == ["https://shop.example"]
    assert api_key_authenticate(key.publishable_key).key == key


def test_authenticate_resolves_the_key_to_its_merchant_and_mode(merchant_a, merchant_b, owner):
    key_a, raw_a = secret_key(merchant_a, owner, mode="live")
    key_b, raw_b = secret_key(merchant_b, owner, mode="test")

    found_a = api_key_authenticate(raw_a)
    found_b = api_key_authenticate(raw_b)

    assert (found_a.merchant, found_a.mode, found_a.livemode, found_a.key) == (
        merchant_a,
        ApiKey.Mode.LIVE,
        True,
        key_a,
    )
    assert (found_b.merchant, found_b.mode, found_b.livemode, found_b.key) == (
        merchant_b,
        ApiKey.Mode.TEST,
        False,
        key_b,
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "sk_test_",
        "sk_test_" + "A" * 32,  # well-formed, unknown
        "sk_test_" + "A" * 31,
        "sk_prod_" + "A" * 32,
        "Bearer sk_test_" + "A" * 32,
    ],
)
def test_unknown_or_malformed_keys_are_refused_alike(raw):
    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(raw)

    assert error.value.code == ApiKeyErrorCode.API_KEY_INVALID
    assert error.value.message == "Invalid API key provided."


def test_a_key_differing_in_one_character_is_unknown(merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    tampered = raw[:-1] + ("a" if raw[-1] != "a" else "b")

    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(tampered)
    assert error.value.code == ApiKeyErrorCode.API_KEY_INVALID


def test_authenticate_is_one_query(merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    api_key_authenticate(raw)  # this minute's last_used_at write

    with CaptureQueriesContext(connection) as queries:
        api_key_authenticate(raw)
    (sql,) = statements(queries)
    assert 'WHERE "tenants_apikey"."key_hash" = ' in sql
    assert "ORDER BY" not in sql


def test_secret_kind_demanded_refuses_a_publishable_key(merchant_a, owner):
    key, _ = api_key_create(
        merchant=merchant_a, kind="publishable", mode="test", name="Widget", actor=owner
    )
    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(key.publishable_key, kind=ApiKey.Kind.SECRET)
    assert error.value.code == ApiKeyErrorCode.SECRET_KEY_REQUIRED


def test_publishable_kind_demanded_refuses_a_secret_key(merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(raw, kind=ApiKey.Kind.PUBLISHABLE)
    assert error.value.code == ApiKeyErrorCode.PUBLISHABLE_KEY_REQUIRED


def test_revoked_key_is_refused_at_once(merchant_a, owner):
    key, raw = secret_key(merchant_a, owner)
    api_key_authenticate(raw)

    api_key_revoke(key=key, actor=owner)

    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(raw)
    assert error.value.code == ApiKeyErrorCode.API_KEY_REVOKED
    assert key.status == ApiKey.Status.REVOKED


def test_revoking_twice_changes_nothing(merchant_a, owner):
    key, _raw = secret_key(merchant_a, owner)
    first = api_key_revoke(key=key, actor=owner).revoked_at

    later = timezone.now() + timedelta(hours=1)
    assert api_key_revoke(key=key, actor=owner, now=later).revoked_at == first


def test_rolled_key_works_until_its_expiry_and_not_after(merchant_a, owner):
    start = timezone.now()
    old, old_raw = secret_key(merchant_a, owner)

    new, new_raw = api_key_roll(key=old, actor=owner, expires_in=timedelta(hours=1), now=start)

    old.refresh_from_db()
    assert old.expires_at == start + timedelta(hours=1)
    assert new.rolled_from == old
    assert (new.name, new.kind, new.mode, new.merchant) == (
        old.name,
        old.kind,
        old.mode,
        merchant_a,
    )
    assert new_raw != old_raw
    just_before = start + timedelta(minutes=59, seconds=59)
    assert api_key_authenticate(old_raw, now=just_before).key == old
    assert old.status_at(just_before) == ApiKey.Status.EXPIRING
    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(old_raw, now=start + timedelta(hours=1))
    assert error.value.code == ApiKeyErrorCode.API_KEY_EXPIRED
    assert api_key_authenticate(new_raw, now=start + timedelta(days=30)).key == new


def test_rolling_with_immediate_expiry_stops_the_old_key_now(merchant_a, owner):
    old, old_raw = secret_key(merchant_a, owner)

    api_key_roll(key=old, actor=owner, expires_in=timedelta(0))

    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(old_raw)
    assert error.value.code == ApiKeyErrorCode.API_KEY_EXPIRED


def test_rolling_a_publishable_key_keeps_its_origins(merchant_a, owner):
    old, _ = api_key_create(
        merchant=merchant_a,
        kind="publishable",
        mode="live",
        name="Widget",
        actor=owner,
        allowed_origins=["https://shop.example"],
    )
    new, secret = api_key_roll(key=old, actor=owner, expires_in=timedelta(days=7))
    assert secret is None
    assert new.allowed_origins == ["https://shop.example"]
    assert new.publishable_key.startswith("pk_live_")
    assert new.publishable_key != old.publishable_key


@pytest.mark.parametrize("expires_in", [timedelta(minutes=5), timedelta(days=8), timedelta(-1)])
def test_roll_expiry_must_be_one_of_the_choices(merchant_a, owner, expires_in):
    old, _ = secret_key(merchant_a, owner)
    with pytest.raises(ApiKeyError) as error:
        api_key_roll(key=old, actor=owner, expires_in=expires_in)
    assert error.value.code == ApiKeyErrorCode.ROLL_EXPIRY_INVALID
    assert ApiKey.objects.filter(merchant=merchant_a).count() == 1


def test_a_key_is_rolled_once_and_a_revoked_key_not_at_all(merchant_a, owner):
    old, _ = secret_key(merchant_a, owner)
    api_key_roll(key=old, actor=owner, expires_in=timedelta(hours=24))
    with pytest.raises(ApiKeyError) as error:
        api_key_roll(key=old, actor=owner, expires_in=timedelta(hours=24))
    assert error.value.code == ApiKeyErrorCode.API_KEY_ALREADY_ROLLED

    revoked, _ = secret_key(merchant_a, owner)
    api_key_revoke(key=revoked, actor=owner)
    with pytest.raises(ApiKeyError) as error:
        api_key_roll(key=revoked, actor=owner, expires_in=timedelta(0))
    assert error.value.code == ApiKeyErrorCode.API_KEY_REVOKED


def test_suspended_merchants_keys_are_refused(merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    Merchant.objects.filter(pk=merchant_a.pk).update(status=Merchant.Status.SUSPENDED)

    with pytest.raises(ApiKeyError) as error:
        api_key_authenticate(raw)
    assert error.value.code == ApiKeyErrorCode.MERCHANT_SUSPENDED


def test_suspended_merchant_cannot_create_keys_but_can_revoke_them(merchant_a, owner):
    key, _raw = secret_key(merchant_a, owner)
    Merchant.objects.filter(pk=merchant_a.pk).update(status=Merchant.Status.SUSPENDED)
    merchant_a.refresh_from_db()

    with pytest.raises(ApiKeyError) as error:
        secret_key(merchant_a, owner)
    assert error.value.code == ApiKeyErrorCode.MERCHANT_SUSPENDED
    assert api_key_revoke(key=key, actor=owner).revoked_at is not None


@pytest.mark.parametrize(
    ("kind", "mode", "name", "code"),
    [
        ("restricted", "test", "x", ApiKeyErrorCode.API_KEY_KIND_INVALID),
        ("secret", "prod", "x", ApiKeyErrorCode.API_KEY_MODE_INVALID),
        ("secret", "test", "   ", ApiKeyErrorCode.API_KEY_NAME_INVALID),
        ("secret", "test", "n" * 101, ApiKeyErrorCode.API_KEY_NAME_INVALID),
    ],
)
def test_create_validates_its_inputs(merchant_a, owner, kind, mode, name, code):
    with pytest.raises(ApiKeyError) as error:
        api_key_create(merchant=merchant_a, kind=kind, mode=mode, name=name, actor=owner)
    assert error.value.code == code
    assert not ApiKey.objects.filter(merchant=merchant_a).exists()


def test_secret_keys_take_no_allowed_origins(merchant_a, owner):
    with pytest.raises(ApiKeyError) as error:
        api_key_create(
            merchant=merchant_a,
            kind="secret",
            mode="test",
            name="Backend",
            actor=owner,
            allowed_origins=["https://shop.example"],
        )
    assert error.value.code == ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID
    assert error.value.param == "allowed_origins"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("https://shop.example", "https://shop.example"),
        ("HTTPS://Shop.EXAMPLE", "https://shop.example"),
        ("https://shop.example/", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://shop.example:8443", "https://shop.example:8443"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("  https://shop.example  ", "https://shop.example"),
    ],
)
def test_origins_are_normalised(given, normalised):
    assert origin_normalise(given) == normalised


@pytest.mark.parametrize(
    "given",
    [
        "shop.example",
        "ftp://shop.example",
        "javascript:alert(1)",
        "https://shop.example/checkout",
        "https://shop.example?x=1",
        "https://shop.example#top",
        "https://shop.example?",
        "https://user:pw@shop.example",
        "https://*.shop.example",
        "https://shop..example",
        "https://-shop.example",
        "https://shop.example:99999",
        "https://",
        "",
    ],
)
def test_invalid_origins_are_refused(given):
    with pytest.raises(ApiKeyError) as error:
        origin_normalise(given)
    assert error.value.code == ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID
    assert error.value.param == "allowed_origins"


def test_allowed_origins_drop_duplicates_keeping_order():
    assert allowed_origins_validate(
        ["https://b.example", "https://a.example", "HTTPS://B.example:443"]
    ) == ["https://b.example", "https://a.example"]


def test_update_origins_replaces_a_publishable_keys_list(merchant_a, owner):
    key, _ = api_key_create(
        merchant=merchant_a, kind="publishable", mode="test", name="Widget", actor=owner
    )
    api_key_update_origins(
        key=key, actor=owner, allowed_origins=["https://a.example", "http://localhost:8000/"]
    )
    key.refresh_from_db()
    assert key.allowed_origins == ["https://a.example", "http://localhost:8000"]


def test_update_origins_refuses_secret_keys(merchant_a, owner):
    key, _ = secret_key(merchant_a, owner)
    with pytest.raises(ApiKeyError) as error:
        api_key_update_origins(key=key, actor=owner, allowed_origins=["https://a.example"])
    assert error.value.code == ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID
    key.refresh_from_db()
    assert key.allowed_origins == []


def test_last_used_at_is_written_at_most_once_a_minute(merchant_a, owner):
    key, raw = secret_key(merchant_a, owner)
    first = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        for second in range(10):
            api_key_authenticate(raw, now=first + timedelta(seconds=second))
    sql = statements(queries)
    updates = [statement for statement in sql if statement.startswith('UPDATE "tenants_apikey"')]

    assert len(updates) == 1
    assert len(sql) == 11
    key.refresh_from_db()
    assert key.last_used_at == first


def test_admin_shows_keys_masked_and_never_their_digest(merchant_a, owner):
    from django.contrib import admin
    from django.test import RequestFactory

    key, raw = secret_key(merchant_a, owner)
    staff = User.objects.create_superuser("root-keys@example.com", "pw-long-enough-1")
    model_admin = admin.site._registry[ApiKey]
    request = RequestFactory().get(f"/admin/tenants/apikey/{key.pk}/change/")
    request.user = staff

    pages = [
        model_admin.changelist_view(request).render().content.decode(),
        model_admin.change_view(request, str(key.pk)).render().content.decode(),
    ]

    for page in pages:
        assert key.masked in page
        assert key.key_hash not in page
        assert raw not in page
    assert not model_admin.has_change_permission(request, key)
    assert not model_admin.has_delete_permission(request, key)
