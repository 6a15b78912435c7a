"""The API's secret-key authentication, seen through GET /v1/account."""

from __future__ import annotations

import base64
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.keys import api_key_create, api_key_revoke, api_key_roll
from tenants.models import ApiKey, Merchant, User

pytestmark = pytest.mark.django_db

ACCOUNT_URL = "/v1/account"


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner-api@example.com", "pw-long-enough-1")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def secret_key(merchant, actor, *, mode="test") -> tuple[ApiKey, str]:
    return api_key_create(merchant=merchant, kind="secret", mode=mode, name="Backend", actor=actor)


def get_account(api: APIClient, raw_key: str):
    return api.get(ACCOUNT_URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}")


def assert_auth_error(response, code: str, message: str | None = None) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == code
    assert error["param"] is None
    assert error["errors"] == {}
    if message is not None:
        assert error["message"] == message


def test_account_answers_the_keys_merchant_and_test_mode(api, merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner, mode="test")

    response = get_account(api, raw)

    assert response.status_code == 200
    assert response.json() == {
        "object": "account",
        "id": "test-alpha",
        "name": "Alpha Test Shop",
        "country": "DE",
        "default_currency": "EUR",
        "status": "active",
        "livemode": False,
    }


def test_a_live_key_reports_livemode(api, merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner, mode="live")
    assert get_account(api, raw).json()["livemode"] is True


def test_each_merchants_key_sees_its_own_merchant_only(api, merchant_a, merchant_b, owner):
    _key_a, raw_a = secret_key(merchant_a, owner)
    _key_b, raw_b = secret_key(merchant_b, owner)

    body_a = get_account(api, raw_a).json()
    body_b = get_account(api, raw_b).json()
    body_a_again = get_account(api, raw_a).json()

    assert (body_a["id"], body_a["name"]) == ("test-alpha", "Alpha Test Shop")
    assert (body_b["id"], body_b["name"]) == ("test-beta", "Beta Test Shop")
    assert body_a_again == body_a


def test_the_request_runs_in_the_merchants_schema_and_ends_in_public(api, merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    seen = {}
    from tenants.api.views import AccountView

    original = AccountView.get

    def spy(view, request):
        seen["schema"] = connection.schema_name
        return original(view, request)

    with mock.patch.object(AccountView, "get", spy):
        assert get_account(api, raw).status_code == 200

    assert seen["schema"] == merchant_a.schema_name
    assert connection.schema_name == "public"


def test_no_authorization_header_is_401(api):
    response = api.get(ACCOUNT_URL)
    assert_auth_error(
        response,
        "api_key_missing",
        "No API key provided. Send your secret key as `Authorization: Bearer sk_…`.",
    )


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!not-base64!!",
        "Basic " + base64.b64encode(b":sk_test_abc").decode(),  # no user name
        "Basic",
        "Bearer",
        "Bearer a b",
        "Token sk_test_abc",
    ],
)
def test_malformed_authorization_header_is_401(api, header):
    response = api.get(ACCOUNT_URL, HTTP_AUTHORIZATION=header)
    assert_auth_error(response, "authorization_header_invalid")


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("password", ["", "anything"])
def test_basic_authentication_with_the_key_as_user_name_works_as_on_stripe(
    api, merchant_a, owner, password
):
    """`curl -u sk_test_…:` sends the key as the user name and an empty password."""
    _key, raw = secret_key(merchant_a, owner, mode="test")

    response = api.get(ACCOUNT_URL, HTTP_AUTHORIZATION=basic(raw, password))

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["livemode"]) == (merchant_a.slug, False)


def test_basic_authentication_with_a_wrong_key_is_the_401_envelope(api, merchant_a, owner):
    key, _raw = api_key_create(
        merchant=merchant_a, kind="publishable", mode="test", name="Widget", actor=owner
    )
    assert_auth_error(
        api.get(ACCOUNT_URL, HTTP_AUTHORIZATION=basic("sk_test_" + "Z" * 32)),
        "api_key_invalid",
        "Invalid API key provided.",
    )
    assert_auth_error(
        api.get(ACCOUNT_URL, HTTP_AUTHORIZATION=basic(key.publishable_key)),
        "secret_key_required",
    )


def test_unknown_key_is_401_without_saying_more(api):
    response = get_account(api, "sk_test_" + "Z" * 32)
    assert_auth_error(response, "api_key_invalid", "Invalid API key provided.")


def test_publishable_key_on_a_secret_endpoint_is_401(api, merchant_a, owner):
    key, _ = api_key_create(
        merchant=merchant_a, kind="publishable", mode="test", name="Widget", actor=owner
    )
    response = get_account(api, key.publishable_key)
    assert_auth_error(
        response,
        "secret_key_required",
        "This endpoint needs a secret key (sk_test_… or sk_live_…); a publishable key "
        "(pk_…) only works from the checkout widget.",
    )


def test_revoked_key_is_401(api, merchant_a, owner):
    key, raw = secret_key(merchant_a, owner)
    assert get_account(api, raw).status_code == 200

    api_key_revoke(key=key, actor=owner)

    assert_auth_error(get_account(api, raw), "api_key_revoked")


def test_suspended_merchants_key_is_401_merchant_suspended(api, merchant_a, owner):
    _key, raw = secret_key(merchant_a, owner)
    Merchant.objects.filter(pk=merchant_a.pk).update(status=Merchant.Status.SUSPENDED)

    assert_auth_error(
        get_account(api, raw),
        "merchant_suspended",
        "This merchant account is suspended, so its API keys are refused. "
        "The account owner can contact support to reactivate it.",
    )


def test_rolled_key_answers_until_its_expiry_then_401(api, merchant_a, owner):
    start = timezone.now()
    old, old_raw = secret_key(merchant_a, owner)
    _new, new_raw = api_key_roll(key=old, actor=owner, expires_in=timedelta(hours=24), now=start)

    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=23)):
        assert get_account(api, old_raw).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=24)):
        assert_auth_error(get_account(api, old_raw), "api_key_expired")
        assert get_account(api, new_raw).status_code == 200


def test_many_requests_in_a_minute_write_last_used_at_once(api, merchant_a, owner):
    key, raw = secret_key(merchant_a, owner)

    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert get_account(api, raw).status_code == 200
    sql = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]

    updates = [statement for statement in sql if statement.startswith("UPDATE")]
    assert len(updates) == 1
    assert updates[0].startswith('UPDATE "tenants_apikey" SET "last_used_at"')
    assert len(sql) == 6  # one key look-up per request, plus that one UPDATE
    key.refresh_from_db()
    assert key.last_used_at is not None
