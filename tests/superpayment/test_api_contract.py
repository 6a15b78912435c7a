"""The OpenAPI document is the contract, checked against a real gunicorn of the product:

- schemathesis sends every operation of `/v1/schema` a bounded, seeded set of generated requests
  (valid ones, boundary values and invalid ones) with a test secret key, and every answer must be
  no server error and exactly as the document says (status, content type, headers, body schema);
- a Python client generated from `/v1/schema` by openapi-python-client (offline, into a temp
  dir) drives a checkout: a voucher, a session, the shopper's payment in the frame, the payment.

The merchant, its key and what the runs create are committed (the server is another process);
the merchant is dropped at the end.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import httpx
import pytest
import redis

from bench.merchants import bench_merchant_drop
from superpayment.embedded import free_port, wait_for_port
from tests.helpers import committed
from tests.processes import BIN, ROOT

pytestmark = pytest.mark.django_db

CONTRACT_MERCHANT = {
    "slug": "test-contract",
    "name": "Contract Test Shop",
    "country": "DE",
    "default_currency": "EUR",
}
# Per operation: schemathesis's boundary and invalid cases, then this many generated ones.
MAX_EXAMPLES = 5
SEED = 20261203
BROKER_DB = 14
# The checks: a 5xx, an answer the document does not describe, or a request that breaks the
# document (wrong type, out of range, unknown value) answered with a success, fails the run.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]


@pytest.fixture(scope="module")
def live_api(test_database_url, django_db_blocker):
    """A gunicorn on the test database and a test secret key of a merchant of its own."""
    from tenants.keys import api_key_create
    from tenants.services import provision_merchant

    with django_db_blocker.unblock():
        committed(lambda: bench_merchant_drop(CONTRACT_MERCHANT["slug"]))
        merchant = committed(lambda: provision_merchant(**CONTRACT_MERCHANT).merchant)
        _key, secret = committed(
            lambda: api_key_create(
                merchant=merchant, kind="secret", mode="test", name="Contract", actor=None
            )
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # Its Celery messages (bulk jobs, test events) go to a Redis database of their own,
        # emptied at the end: no later test's worker finds tasks of a dropped merchant.
        broker = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{BROKER_DB}"
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url,
            "PUBLIC_BASE_URL": base,
            "CELERY_BROKER_URL": broker,
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "ERROR",
        }
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "superpayment.wsgi:application"]
            + ["-c", "superpayment/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]
            + ["--access-logfile", "/dev/null"],
            env=env,
            cwd=ROOT,
        )
        try:
            wait_for_port(port, timeout=30, proc=server)
            live = {"base": base, "secret": secret, "merchant": merchant}
            yield live | {"objects": _objects_create(live)}
        finally:
            server.terminate()
            server.wait(20)
            redis.Redis.from_url(broker).flushdb()
            committed(lambda: bench_merchant_drop(CONTRACT_MERCHANT["slug"]))


def _objects_create(live: dict) -> dict[str, str]:
    """One object of each kind, so operations on an id also answer with the object, not only
    404: a voucher, a paid and partly refunded payment, a webhook endpoint and an event."""
    api = httpx.Client(base_url=live["base"], headers={"Authorization": f"Bearer {live['secret']}"})
    voucher = api.post("/v1/vouchers", json={"currency": "EUR", "amount": 100_000}).json()
    session = api.post(
        "/v1/checkout/sessions", json={"amount": 2500, "order_id": "CONTRACT-0"}
    ).json()
    _pay_in_frame(live["base"], live["merchant"], session["id"], voucher["code"])
    payment = api.get("/v1/payments", params={"order_id": "CONTRACT-0"}).json()["data"][0]
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", json={"amount": 100}).json()
    endpoint = api.post(
        "/v1/webhook_endpoints",
        json={"url": "https://hooks.example/contract", "enabled_events": ["*"]},
    ).json()
    event = api.get("/v1/events").json()["data"][0]
    return {
        "voucher_id": voucher["id"],
        "session_id": session["id"],
        "payment_id": payment["id"],
        "refund_id": refund["id"],
        "endpoint_id": endpoint["id"],
        "event_id": event["id"],
    }


def test_every_operation_answers_as_the_document_says(live_api, tmp_path):
    """schemathesis over all /v1 operations: 0 server errors, 0 answers off the document."""
    log = tmp_path / "schemathesis.log"
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        # Requests with methods the document does not list are no response check's business.
        "[phases.coverage]\nunexpected-methods = []\n"
        "generate-duplicate-query-parameters = false\n"
        "[parameters]\n"
        + "".join(f'{name} = "{value}"\n' for name, value in live_api["objects"].items())
    )
    run = subprocess.run(
        [str(BIN / "st"), "--config-file", str(config), "run", f"{live_api['base']}/v1/schema"]
        + ["--header", f"Authorization: Bearer {live_api['secret']}"]
        + ["--checks", ",".join(CHECKS)]
        + ["--phases", "examples,coverage,fuzzing"]
        + ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)]
        + ["--workers", "2", "--request-timeout", "20"]
        + ["--report", "junit", "--report-dir", str(tmp_path)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
    )

    assert run.returncode == 0, log.read_text()[-20_000:]


@pytest.fixture(scope="module")
def generated_client(live_api, tmp_path_factory):
    """`superpayment_api_client`, generated from the live server's /v1/schema, imported."""
    out = tmp_path_factory.mktemp("client")
    schema_file = out / "openapi.json"
    schema_file.write_bytes(httpx.get(f"{live_api['base']}/v1/schema?format=json").content)
    config = out / "config.yaml"
    config.write_text("project_name_override: superpayment-api-client\npost_hooks: []\n")
    subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(schema_file)]
        + ["--config", str(config), "--output-path", str(out / "project"), "--fail-on-warning"],
        check=True,
        cwd=out,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(out / "project"))
    try:
        yield importlib.import_module("superpayment_api_client")
    finally:
        sys.path.remove(str(out / "project"))


def _pay_in_frame(base: str, merchant, session_id: str, code: str) -> None:
    """What the shopper does in the payment frame: add the voucher, confirm."""
    from checkout.models import CheckoutSession

    frame = f"{base}/checkout/pay/{merchant.slug}/{session_id}/"
    headers = {"Origin": base}
    added = httpx.post(frame + "vouchers", json={"code": code}, headers=headers)
    assert added.status_code == 200, added.text
    token = committed(
        lambda: CheckoutSession.objects.get(public_id=session_id).confirm_token,
        merchant.schema_name,
    )
    confirmed = httpx.post(frame + "confirm", json={"confirm_token": token}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text


def test_a_generated_client_drives_a_checkout(live_api, generated_client):
    from superpayment_api_client import AuthenticatedClient
    from superpayment_api_client.api.checkout import checkout_session_create
    from superpayment_api_client.api.payments import payment_retrieve, payments_list
    from superpayment_api_client.api.vouchers import vouchers_create
    from superpayment_api_client.models import SessionCreateInputRequest, VoucherCreateRequest

    client = AuthenticatedClient(base_url=live_api["base"], token=live_api["secret"])

    voucher = vouchers_create.sync(
        client=client, body=VoucherCreateRequest(currency="EUR", amount=5000)
    )
    session = checkout_session_create.sync(
        client=client,
        body=SessionCreateInputRequest(amount=1234, order_id="CONTRACT-1", currency="EUR"),
    )
    _pay_in_frame(live_api["base"], live_api["merchant"], session.id, voucher.code)
    page = payments_list.sync(client=client, order_id="CONTRACT-1")
    payment = payment_retrieve.sync(client=client, payment_id=page.data[0].id)

    assert (voucher.balance, voucher.currency) == (5000, "EUR")
    assert session.id.startswith("cs_")
    assert [p.order_id for p in page.data] == ["CONTRACT-1"]
    assert page.has_more is False
    assert (payment.amount, payment.currency, payment.order_id) == (1234, "EUR", "CONTRACT-1")
    assert payment.status.value == "succeeded"
    assert payment.checkout_session == session.id
    assert [(t.voucher, t.amount) for t in payment.tenders] == [(voucher.id, 1234)]
