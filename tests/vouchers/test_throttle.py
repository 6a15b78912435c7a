"""Wrong-code throttles: per scope, locked out at the limit, one alert per burst."""

from __future__ import annotations

import pytest

from tenants.models import AuditAction, AuditLog
from vouchers import throttle
from vouchers.throttle import ThrottleError, code_attempt_failed, code_attempts_check
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch):
    from django.core.cache import caches

    client = caches["global"]._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*voucher_code_failures:*", count=1000))
    if keys:
        client.delete(*keys)
    monkeypatch.setitem(throttle.LIMITS, "ip", throttle.Limit(attempts=4, window_seconds=600))
    monkeypatch.setitem(throttle.LIMITS, "session", throttle.Limit(attempts=2, window_seconds=900))


def test_each_scope_locks_out_at_its_own_limit(in_merchant_a):
    scopes = {"ip": "203.0.113.9", "session": "cs_one"}
    code_attempt_failed(scopes=scopes, livemode=False)
    code_attempts_check(scopes=scopes)  # one failure: still allowed

    code_attempt_failed(scopes=scopes, livemode=False)  # the session's second: locked

    with pytest.raises(ThrottleError) as refused:
        code_attempts_check(scopes=scopes)
    assert refused.value.code == "code_attempts_exceeded"
    assert refused.value.retry_after == 900
    # A new session from the same address may still try, until the address's own limit.
    fresh = {"ip": "203.0.113.9", "session": "cs_two"}
    code_attempts_check(scopes=fresh)
    code_attempt_failed(scopes={"ip": "203.0.113.9", "session": "cs_two"}, livemode=False)
    code_attempt_failed(scopes={"ip": "203.0.113.9", "session": "cs_three"}, livemode=False)
    with pytest.raises(ThrottleError) as by_ip:
        code_attempts_check(scopes={"ip": "203.0.113.9", "session": "cs_four"})
    assert by_ip.value.retry_after == 600
    code_attempts_check(scopes={"ip": "198.51.100.1", "session": "cs_five"})


def test_a_burst_raises_one_audit_entry_and_one_event(in_merchant_a):
    scopes = {"ip": "203.0.113.7"}
    bursts = [code_attempt_failed(scopes=scopes, livemode=True) for _ in range(6)]

    assert bursts == [[], [], [], ["ip"], [], []]
    audits = AuditLog.objects.filter(action=AuditAction.VOUCHER_ENUMERATION_SUSPECTED)
    assert audits.count() == 1
    assert audits.get().merchant == in_merchant_a
    assert audits.get().details["scopes"] == {"ip": "203.0.113.7"}
    (event,) = Event.objects.filter(type="voucher.enumeration_suspected")
    assert event.livemode is True
    assert event.data_object["object"] == "voucher_guard"
    assert event.data_object["failures"] == {"ip": 4}
