from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from django_tenants.utils import schema_context

from superpayment.logs import logging_config


@pytest.fixture
def json_log_lines():
    """The production (JSON) log configuration, writing into a buffer the test can read."""
    logging_config(level="INFO", fmt="json")
    root = logging.getLogger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(handler)
    logging_config(level="INFO", fmt="console")


def test_every_log_line_carries_request_id_and_tenant_schema(json_log_lines, merchant_a):
    structlog.contextvars.bind_contextvars(request_id="req-12345678")
    try:
        with schema_context(merchant_a.schema_name):
            structlog.get_logger("tests").info("voucher_checked", voucher="…ABCD")
            logging.getLogger("django.request").warning("plain stdlib record")
    finally:
        structlog.contextvars.clear_contextvars()

    structured, plain = json_log_lines()[-2:]
    assert structured["event"] == "voucher_checked"
    assert structured["request_id"] == "req-12345678"
    assert structured["tenant"] == merchant_a.schema_name
    assert structured["level"] == "info"
    # Django's own (standard library) records get the same fields.
    assert plain["event"] == "plain stdlib record"
    assert plain["request_id"] == "req-12345678"
    assert plain["tenant"] == merchant_a.schema_name


def test_responses_echo_a_well_formed_request_id_and_replace_a_bad_one(client):
    good = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-def-456")
    assert good["X-Request-ID"] == "abc-123-def-456"
    bad = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert bad["X-Request-ID"] != "<script>"
    assert len(bad["X-Request-ID"]) == 32
