"""GET /metrics: protected by a bearer token, the product's figures after real requests, and
gunicorn's worker processes summed (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import datetime
import os
import subprocess
import time
import urllib.request

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from superpayment.embedded import free_port, wait_for_port
from tests.checkout.support import (
    frame_post,
    issue,
    open_session,
    pay,
    publishable_key,
    secret_key,
)
from tests.processes import BIN, ROOT
from vouchers import throttle
from webhooks.delivery import delivery_attempt
from webhooks.queue.models import DueDelivery

TOKEN = "metrics-test-token-1f7a"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    return settings


@pytest.mark.django_db
def test_metrics_are_refused_without_the_token_and_off_without_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", **AUTH).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401
    refused = client.get("/metrics")
    assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"superpayment_" not in refused.content
    # Prometheus scrapes a pod by its address: no Host validation stands in the way.
    assert client.get("/metrics", HTTP_HOST="10.1.2.3:8000", **AUTH).status_code == 200


@pytest.mark.django_db
def test_payments_refunds_lockouts_and_deliveries_are_counted(
    client, merchant_a, metrics_on, monkeypatch
):
    monkeypatch.setitem(throttle.LIMITS, "session", throttle.Limit(attempts=2, window_seconds=60))
    before = scrape(client)
    pk = publishable_key(merchant_a)
    voucher = issue(merchant_a, 15_000)

    paid = pay(client, merchant_a, open_session(client, pk, order_id="M-1")["id"], voucher.code)
    assert paid.status_code == 200, paid.json()
    stale = frame_post(
        client,
        merchant_a,
        open_session(client, pk, order_id="M-2")["id"],
        "confirm",
        {"confirm_token": "not-the-token"},
    )
    assert stale.status_code != 200
    locked = open_session(client, pk, order_id="M-3")["id"]
    for _ in range(2):
        wrong = frame_post(client, merchant_a, locked, "vouchers", {"code": "NOPE-NOPE-NOPE"})
        assert wrong.status_code == 400, wrong.json()
    refused = frame_post(client, merchant_a, locked, "vouchers", {"code": voucher.code})
    assert refused.status_code == 429

    payment_id = paid.json()["payment"]["id"]
    sk = secret_key(merchant_a)
    refunds = f"/v1/payments/{payment_id}/refunds"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {sk}"}
    ok = client.post(refunds, {"amount": 1_000}, content_type="application/json", **headers)
    over = client.post(refunds, {"amount": 9_000}, content_type="application/json", **headers)
    assert (ok.status_code, over.status_code) == (201, 400)
    with_schema = merchant_a.schema_name
    from django_tenants.utils import schema_context

    with schema_context(with_schema):
        assert delivery_attempt(delivery_id=987_654_321) == "skipped"

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("superpayment_payments_total", outcome="succeeded") == 1
    assert delta("superpayment_payments_total", outcome="confirm_token_invalid") == 1
    assert delta("superpayment_confirm_duration_seconds_count") == 2
    assert delta("superpayment_refunds_total", outcome="succeeded") == 1
    assert delta("superpayment_refunds_total", outcome=over.json()["error"]["code"]) == 1
    assert delta("superpayment_throttle_lockouts_total", scope="session") == 1
    assert delta("superpayment_webhook_deliveries_total", outcome="skipped") == 1
    # django-prometheus' request metrics are there too (the 5xx alert reads them).
    assert delta("django_http_responses_total_by_status_total", status="429") == 1


@pytest.mark.django_db
def test_due_backlog_and_oldest_age_are_read_from_the_public_queue(client, metrics_on):
    before = scrape(client)
    now = timezone.now()
    for delivery_id, seconds_ago in [(9_001, 400), (9_002, 10), (9_003, -600)]:
        DueDelivery.objects.create(
            schema_name="metrics_test",
            delivery_id=delivery_id,
            due_at=now - datetime.timedelta(seconds=seconds_ago),
        )
    after = scrape(client)
    backlog = value(after, "superpayment_webhook_backlog") - value(
        before, "superpayment_webhook_backlog"
    )
    assert backlog == 2  # the third is due in 10 minutes
    assert value(after, "superpayment_webhook_oldest_due_age_seconds") >= 400
    assert value(after, "superpayment_database_up") == 1


@pytest.mark.django_db
def test_celery_queue_lengths_and_a_broker_that_is_down(client, metrics_on):
    import redis

    queue = f"metrics-test-{os.getpid()}"
    metrics_on.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(metrics_on.CELERY_BROKER_URL)
    broker.rpush(queue, "a", "b", "c")
    try:
        found = scrape(client)
    finally:
        broker.delete(queue)
    assert value(found, "superpayment_celery_queue_length", queue=queue) == 3
    assert value(found, "superpayment_celery_broker_up") == 1

    metrics_on.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    down = scrape(client)
    assert value(down, "superpayment_celery_broker_up") == 0
    assert not [name for name, _ in down if name == "superpayment_celery_queue_length"]


def test_gunicorn_workers_are_summed_across_processes(test_database_url, tmp_path):
    """Each worker serves at most 3 requests before gunicorn replaces it, so 10 requests are
    answered by at least 4 processes; the scrape (by whichever worker) counts all 10."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "METRICS_TOKEN": TOKEN,
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "superpayment.wsgi:application", "-c"]
        + ["superpayment/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]
        + ["--max-requests", "3", "--max-requests-jitter", "0", "--access-logfile", "/dev/null"],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=60, proc=web)
        for _ in range(10):
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
                assert response.status == 200
        request = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            found = samples(response.read().decode())
    finally:
        web.terminate()
        web.wait(30)
    served = value(
        found,
        "django_http_requests_total_by_view_transport_method_total",
        view="healthz",
        transport="http",
        method="GET",
    )
    assert served == 10
    pids = {path.name.rsplit("_", 1)[1] for path in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(pids) >= 4


@pytest.mark.django_db
def test_the_webhooks_dispatcher_serves_its_delivery_outcomes_on_its_metrics_port(
    merchant_a, test_database_url
):
    """Webhook deliveries are attempted in the dispatcher, not in web: it serves its own
    counters on METRICS_PORT. A due row naming no delivery is claimed, found gone and counted."""
    from django.utils import timezone

    from tests.helpers import committed

    due = committed(
        lambda: DueDelivery.objects.create(
            schema_name=merchant_a.schema_name, delivery_id=987_654_321, due_at=timezone.now()
        )
    )
    port = free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url, "METRICS_PORT": str(port)}
    dispatcher = subprocess.Popen(
        [str(BIN / "python"), "manage.py", "webhooks_dispatch", "--threads", "1"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for_port(port, timeout=60, proc=dispatcher)

        def gone() -> float:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                found = samples(response.read().decode())
            return value(found, "superpayment_webhook_deliveries_total", outcome="gone")

        deadline = time.monotonic() + 60
        while gone() < 1:
            assert dispatcher.poll() is None
            assert time.monotonic() < deadline, "the dispatcher never counted the attempt"
            time.sleep(0.2)
    finally:
        dispatcher.terminate()
        dispatcher.wait(30)
        committed(lambda: DueDelivery.objects.filter(pk=due.pk).delete())
