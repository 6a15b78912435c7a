"""`Idempotency-Key` on POST: replay, mismatch, in-flight, release on 5xx, expiry, scoping."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from superpayment.api.idempotency import idempotency_keys_purge
from tenants.keys import api_key_create
from tenants.models import ApiKey, AuditLog, IdempotencyKey, User
from tests.helpers import committed
from tests.superpayment import idempotency_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.superpayment.idempotency_urls")]

URL = "/v1/test/things"


@pytest.fixture(autouse=True)
def _reset_view():
    idempotency_urls.RUNS.clear()
    idempotency_urls.ENTERED.clear()
    idempotency_urls.RELEASE.clear()
    yield
    idempotency_urls.RELEASE.set()


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner-idem@example.com", "pw-long-enough-1")


def secret(merchant, owner, mode="test") -> str:
    return api_key_create(merchant=merchant, kind="secret", mode=mode, name="B", actor=owner)[1]


def post(raw: str, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return APIClient().post(URL, body, format="json", **headers)


def test_same_key_and_body_replays_the_first_answer_without_running_again(merchant_a, owner):
    raw = secret(merchant_a, owner)

    first = post(raw, {"amount": 100, "currency": "EUR"})
    again = post(raw, {"currency": "EUR", "amount": 100})  # key order does not matter

    assert first.status_code == 201
    assert first.json() == {"object": "thing", "run": 1, "echo": {"amount": 100, "currency": "EUR"}}
    assert "Idempotent-Replayed" not in first
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Idempotency-Key"] == "key-1"
    assert len(idempotency_urls.RUNS) == 1
    row = IdempotencyKey.objects.get(merchant=merchant_a, key="key-1")
    assert (row.status, row.response_status, row.livemode) == ("complete", 201, False)


def test_same_key_with_another_body_answers_422(merchant_a, owner):
    raw = secret(merchant_a, owner)
    post(raw, {"amount": 100})

    response = post(raw, {"amount": 101})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "idempotency_key_reused"
    assert len(idempotency_urls.RUNS) == 1


def test_without_a_key_every_request_runs(merchant_a, owner):
    raw = secret(merchant_a, owner)
    post(raw, {"amount": 1}, key=None)
    post(raw, {"amount": 1}, key=None)
    assert len(idempotency_urls.RUNS) == 2
    assert IdempotencyKey.objects.filter(merchant=merchant_a).count() == 0


def test_an_over_long_key_is_refused(merchant_a, owner):
    raw = secret(merchant_a, owner)
    response = post(raw, {"amount": 1}, key="k" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert idempotency_urls.RUNS == []


def test_a_request_error_is_stored_and_replayed(merchant_a, owner):
    raw = secret(merchant_a, owner)
    first = post(raw, {"invalid": True})
    again = post(raw, {"invalid": True})

    assert first.status_code == 400
    assert first.json()["error"]["code"] == "currency_invalid"
    assert again.status_code == 400
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(idempotency_urls.RUNS) == 1


def test_a_server_error_releases_the_key_so_the_retry_runs(merchant_a, owner):
    raw = secret(merchant_a, owner)
    failed = post(raw, {"fail": True})
    assert failed.status_code == 500
    assert not IdempotencyKey.objects.filter(merchant=merchant_a, key="key-1").exists()

    retried = post(raw, {"fail": True})
    assert retried.status_code == 500
    assert "Idempotent-Replayed" not in retried
    assert len(idempotency_urls.RUNS) == 2


def test_same_key_while_the_first_is_running_answers_409(merchant_a):
    def make_key():
        user = User.objects.create_user("idem-inflight@example.com", "pw-long-enough-1")
        key, raw = api_key_create(
            merchant=merchant_a, kind="secret", mode="test", name="B", actor=user
        )
        return user.pk, key.pk, raw

    user_pk, key_pk, raw = committed(make_key)
    outcome: dict[str, object] = {}
    try:

        def first_request():
            outcome["first"] = post(raw, {"wait": True}, key="inflight")

        first = threading.Thread(target=first_request)
        first.start()
        assert idempotency_urls.ENTERED.wait(timeout=30)

        during = committed(lambda: post(raw, {"wait": True}, key="inflight"))
        mismatch = committed(lambda: post(raw, {"wait": False}, key="inflight"))

        idempotency_urls.RELEASE.set()
        first.join(timeout=30)
        after = committed(lambda: post(raw, {"wait": True}, key="inflight"))
    finally:
        idempotency_urls.RELEASE.set()

        def cleanup():
            IdempotencyKey.objects.filter(merchant=merchant_a, key="inflight").delete()
            AuditLog.objects.filter(target_type="tenants.apikey", target_id=str(key_pk)).delete()
            ApiKey.objects.filter(pk=key_pk).delete()
            User.objects.filter(pk=user_pk).delete()

        committed(cleanup)

    assert during.status_code == 409
    assert during.json()["error"]["code"] == "idempotency_key_in_use"
    assert mismatch.status_code == 422
    assert outcome["first"].status_code == 201
    assert after.status_code == 201
    assert after["Idempotent-Replayed"] == "true"
    assert after.json() == outcome["first"].json()
    assert len(idempotency_urls.RUNS) == 1


def test_keys_are_scoped_per_merchant_and_mode(merchant_a, merchant_b, owner):
    raw_test = secret(merchant_a, owner, "test")
    raw_live = secret(merchant_a, owner, "live")
    raw_b = secret(merchant_b, owner, "test")

    answers = [post(raw, {"amount": 5}, key="shared") for raw in (raw_test, raw_live, raw_b)]

    assert [a.json()["run"] for a in answers] == [1, 2, 3]
    assert all("Idempotent-Replayed" not in a for a in answers)
    assert IdempotencyKey.objects.filter(key="shared").count() == 3


def test_an_expired_key_starts_afresh_and_the_purge_deletes_old_keys(merchant_a, owner):
    raw = secret(merchant_a, owner)
    post(raw, {"amount": 1}, key="old")
    post(raw, {"amount": 1}, key="recent")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=72, minutes=1)
    )

    reused = post(raw, {"amount": 2}, key="old")

    assert reused.status_code == 201
    assert reused.json()["run"] == 3
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=73))
    IdempotencyKey.objects.filter(key="recent").update(
        created_at=timezone.now() - timedelta(hours=71)
    )
    assert idempotency_keys_purge() == 1
    remaining = IdempotencyKey.objects.filter(merchant=merchant_a).values_list("key", flat=True)
    assert list(remaining) == ["recent"]


def test_a_stale_claim_of_a_dead_request_is_taken_over(merchant_a, owner):
    raw = secret(merchant_a, owner)
    post(raw, {"amount": 1}, key="dead")
    IdempotencyKey.objects.filter(key="dead").update(
        status="in_progress",
        response_status=None,
        response_body=None,
        locked_at=timezone.now() - timedelta(minutes=3),
    )

    response = post(raw, {"amount": 1}, key="dead")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert len(idempotency_urls.RUNS) == 2
