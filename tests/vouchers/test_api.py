"""The vouchers API: create, list, retrieve, update, adjust, ledger, balance check, bulk."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import AuditAction, AuditLog
from tests.vouchers.api_support import api_client
from vouchers import throttle
from vouchers.models import Voucher
from vouchers.services import voucher_issue, voucher_update
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(merchant_a):
    return api_client(merchant_a)


@pytest.fixture(autouse=True)
def _fresh_code_counters():
    from django.core.cache import caches

    client = caches["global"]._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*voucher_code_failures:*", count=1000))
    if keys:
        client.delete(*keys)


def in_schema(merchant, fn):
    with schema_context(merchant.schema_name):
        return fn()


def create(api, **body):
    payload = {"currency": "EUR", "amount": 5000} | body
    return api.post("/v1/vouchers", payload, format="json")


def test_create_answers_the_voucher_with_its_full_code_once(api, merchant_a):
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    response = create(
        api,
        code="gift-aaaa-bbbb-cccc",
        expires_at=expires.isoformat(),
        rules={"min_order_amount": 1000},
        metadata={"campaign": "spring"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("vch_")
    assert body == {
        "id": body["id"],
        "object": "voucher",
        "code": "GIFT-AAAA-BBBB-CCCC",
        "code_last4": "CCCC",
        "currency": "EUR",
        "initial_amount": 5000,
        "balance": 5000,
        "status": "active",
        "livemode": False,
        "valid_from": None,
        "expires_at": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rules": {"min_order_amount": 1000},
        "metadata": {"campaign": "spring"},
        "redemption_count": 0,
        "version": 1,
        "created": body["created"],
    }
    retrieved = api.get(f"/v1/vouchers/{body['id']}").json()
    assert "code" not in retrieved
    assert retrieved == {key: value for key, value in body.items() if key != "code"}
    events = in_schema(merchant_a, lambda: list(Event.objects.filter(type="voucher.created")))
    assert [event.data_object for event in events] == [retrieved]


def test_create_refuses_bad_input_with_the_envelope(api):
    response = create(api, amount=0)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "amount_invalid"
    assert response.json()["error"]["param"] == "amount"

    response = create(api, rules={"colour": "red"})
    assert response.json()["error"]["code"] == "rules_invalid"

    response = api.post("/v1/vouchers", {"currency": "EUR"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"
    assert response.json()["error"]["param"] == "amount"


def test_create_with_an_idempotency_key_issues_one_voucher(api, merchant_a):
    first = api.post(
        "/v1/vouchers", {"currency": "EUR", "amount": 700}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = api.post(
        "/v1/vouchers", {"currency": "EUR", "amount": 700}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert in_schema(merchant_a, lambda: Voucher.objects.filter(initial_amount=700).count()) == 1


def test_a_taken_code_answers_409(api):
    create(api, code="SAMECODE23456")
    response = create(api, code="same-code-23456")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "code_taken"


def test_list_filters_and_paginates_newest_first(api, merchant_a):
    ids = [create(api, amount=100 + i).json()["id"] for i in range(5)]
    usd = create(api, currency="USD", amount=900).json()
    api.post(f"/v1/vouchers/{ids[0]}", {"status": "disabled"}, format="json")

    page = api.get("/v1/vouchers", {"currency": "EUR", "limit": 2}).json()
    assert page["object"] == "list"
    assert [v["id"] for v in page["data"]] == [ids[4], ids[3]]
    assert page["has_more"] is True
    assert all("code" not in v for v in page["data"])
    rest = api.get(
        "/v1/vouchers", {"currency": "EUR", "limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert [v["id"] for v in rest["data"]] == [ids[2], ids[1]]

    assert [v["id"] for v in api.get("/v1/vouchers", {"status": "disabled"}).json()["data"]] == [
        ids[0]
    ]
    by_last4 = api.get("/v1/vouchers", {"last4": usd["code_last4"].lower()}).json()["data"]
    assert usd["id"] in [v["id"] for v in by_last4]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api.get("/v1/vouchers", {"created[gte]": future}).json()["data"] == []
    assert len(api.get("/v1/vouchers", {"created[lte]": future}).json()["data"]) == 6
    bad = api.get("/v1/vouchers", {"status": "lost"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "status"


def test_a_test_key_never_sees_live_vouchers(api, merchant_a):
    live = in_schema(merchant_a, lambda: voucher_issue(currency="EUR", amount=100, livemode=True))
    live_api = api_client(merchant_a, mode="live")

    assert api.get(f"/v1/vouchers/{live.public_id}").status_code == 404
    assert api.get("/v1/vouchers").json()["data"] == []
    assert live_api.get(f"/v1/vouchers/{live.public_id}").json()["livemode"] is True
    balance = api.post("/v1/vouchers/balance", {"code": live.code}, format="json")
    assert balance.status_code == 400
    assert balance.json()["error"]["code"] == "voucher_not_redeemable"


def test_another_merchants_voucher_answers_404_everywhere(api, merchant_b):
    other = in_schema(merchant_b, lambda: voucher_issue(currency="EUR", amount=100))
    base = f"/v1/vouchers/{other.public_id}"

    answers = [
        api.get(base),
        api.post(base, {"status": "disabled"}, format="json"),
        api.patch(base, {"status": "disabled"}, format="json"),
        api.post(f"{base}/adjust", {"amount": 5, "reason": "x"}, format="json"),
        api.get(f"{base}/ledger"),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert {a.json()["error"]["code"] for a in answers} == {"voucher_not_found"}
    assert in_schema(merchant_b, lambda: Voucher.objects.get(pk=other.pk).status) == "active"


def test_update_disables_enables_and_changes_expiry_and_metadata(api, merchant_a):
    voucher = create(api, metadata={"a": "1", "b": "2"}).json()
    url = f"/v1/vouchers/{voucher['id']}"

    disabled = api.post(url, {"status": "disabled"}, format="json").json()
    enabled = api.patch(url, {"status": "active", "metadata": {"a": "", "c": "3"}}, format="json")
    no_expiry = api.post(url, {"expires_at": None}, format="json").json()

    assert (disabled["status"], disabled["version"]) == ("disabled", 2)
    assert enabled.json()["status"] == "active"
    assert enabled.json()["metadata"] == {"b": "2", "c": "3"}
    assert enabled.json()["version"] == 3
    assert no_expiry["version"] == 3  # it had no expiry: nothing changed
    past = api.post(url, {"expires_at": "2020-01-01T00:00:00Z"}, format="json")
    assert past.json()["error"]["code"] == "validity_invalid"
    types = in_schema(
        merchant_a, lambda: list(Event.objects.order_by("pk").values_list("type", flat=True))
    )
    assert types == ["voucher.created", "voucher.updated", "voucher.updated"]


def test_adjust_needs_a_reason_and_exhausting_sends_voucher_exhausted(api, merchant_a):
    voucher = create(api, amount=1000).json()
    url = f"/v1/vouchers/{voucher['id']}/adjust"

    missing = api.post(url, {"amount": 100}, format="json")
    added = api.post(url, {"amount": 250, "reason": "Goodwill"}, format="json")
    emptied = api.post(url, {"amount": -1250, "reason": "Fraud"}, format="json")
    too_much = api.post(url, {"amount": -1, "reason": "More"}, format="json")

    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "reason"
    assert added.json()["balance"] == 1250
    assert (emptied.json()["balance"], emptied.json()["status"]) == (0, "exhausted")
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    ledger = api.get(f"/v1/vouchers/{voucher['id']}/ledger").json()
    assert [(e["kind"], e["amount"], e["balance_after"], e["reason"]) for e in ledger["data"]] == [
        ("issue", 1000, 1000, ""),
        ("adjustment", 250, 1250, "Goodwill"),
        ("adjustment", -1250, 0, "Fraud"),
    ]
    assert ledger["has_more"] is False
    types = in_schema(
        merchant_a, lambda: list(Event.objects.order_by("pk").values_list("type", flat=True))
    )
    assert types == ["voucher.created", "voucher.updated", "voucher.exhausted"]


def test_balance_check_answers_one_error_for_every_unusable_code(api, merchant_a):
    def issue(**kw):
        return in_schema(merchant_a, lambda: voucher_issue(currency="EUR", amount=800, **kw))

    good = issue()
    disabled = issue()
    in_schema(
        merchant_a,
        lambda: voucher_update(voucher_id=disabled.public_id, livemode=False, status="disabled"),
    )
    expired = issue(expires_at=timezone.now() + timedelta(seconds=30))
    in_schema(
        merchant_a,
        lambda: Voucher.objects.filter(pk=expired.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        ),
    )

    ok = api.post("/v1/vouchers/balance", {"code": good.code.lower()}, format="json")
    assert ok.status_code == 200
    assert ok.json() == {
        "object": "voucher_balance",
        "code_last4": good.code[-4:],
        "balance": 800,
        "currency": "EUR",
        "expires_at": None,
    }
    refusals = [
        api.post("/v1/vouchers/balance", body, format="json")
        for body in (
            {"code": "NOSUCHCODE2345678"},
            {"code": disabled.code},
            {"code": expired.code},
            {"code": good.code, "currency": "USD"},
        )
    ]
    assert {r.status_code for r in refusals} == {400}
    assert len({r.content for r in refusals}) == 1
    assert refusals[0].json()["error"]["code"] == "voucher_not_redeemable"


def test_wrong_codes_lock_the_key_out_and_raise_an_audit_entry_and_event(
    api, merchant_a, monkeypatch
):
    monkeypatch.setitem(throttle.LIMITS, "key", throttle.Limit(attempts=3, window_seconds=600))
    good = in_schema(merchant_a, lambda: voucher_issue(currency="EUR", amount=800))

    wrong = [
        api.post("/v1/vouchers/balance", {"code": f"WRONGCODE2345{i}"}, format="json")
        for i in range(3)
    ]
    locked = api.post("/v1/vouchers/balance", {"code": good.code}, format="json")
    other_key = api_client(merchant_a).post(
        "/v1/vouchers/balance", {"code": good.code}, format="json"
    )

    assert [r.status_code for r in wrong] == [400, 400, 400]
    assert locked.status_code == 429
    assert locked["Retry-After"] == "600"
    assert locked.json()["error"]["type"] == "rate_limit_error"
    assert locked.json()["error"]["code"] == "code_attempts_exceeded"
    assert other_key.status_code == 200
    audits = AuditLog.objects.filter(
        merchant=merchant_a, action=AuditAction.VOUCHER_ENUMERATION_SUSPECTED
    )
    assert audits.count() == 1
    assert audits.get().details["scopes"] == {"key": str(api.key.pk)}
    events = in_schema(
        merchant_a,
        lambda: list(Event.objects.filter(type="voucher.enumeration_suspected")),
    )
    assert len(events) == 1
    assert events[0].livemode is False
    assert events[0].data_object["scopes"] == ["key"]


def test_bulk_up_to_the_limit_answers_every_code_at_once(api, merchant_a):
    response = api.post(
        "/v1/vouchers/bulk",
        {"count": 3, "currency": "EUR", "amount": 2500, "prefix": "XMAS"},
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    assert len(data) == 3
    assert all(v["code"].startswith("XMAS") and v["balance"] == 2500 for v in data)
    assert len({v["code"] for v in data}) == 3
    created = in_schema(merchant_a, lambda: Event.objects.filter(type="voucher.created").count())
    assert created == 3


def test_bulk_refuses_a_weak_code_length(api):
    response = api.post(
        "/v1/vouchers/bulk",
        {"count": 3, "currency": "EUR", "amount": 2500, "length": 8},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "code_too_weak"


def test_a_voucher_job_of_another_mode_or_merchant_answers_404(api, merchant_a, merchant_b):
    from vouchers.jobs import voucher_job_create

    live_job = in_schema(
        merchant_a,
        lambda: voucher_job_create(count=5000, currency="EUR", amount=100, livemode=True),
    )
    other_job = in_schema(
        merchant_b, lambda: voucher_job_create(count=5000, currency="EUR", amount=100)
    )
    for job in (live_job, other_job):
        response = api.get(f"/v1/voucher_jobs/{job.public_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "voucher_job_not_found"
        assert api.get(f"/v1/voucher_jobs/{job.public_id}/codes").status_code == 404
    live = api_client(merchant_a, mode="live").get(f"/v1/voucher_jobs/{live_job.public_id}")
    assert live.json()["status"] == "queued"
    assert live.json()["count"] == 5000
