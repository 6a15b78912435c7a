"""Every API error answers one envelope: {"error": {type, code, message, param, errors}}."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.keys import api_key_create
from tenants.models import User

pytestmark = pytest.mark.django_db

ENVELOPE_URLS = "tests.superpayment.api_envelope_urls"


@pytest.fixture
def api(merchant_a) -> APIClient:
    """A client authenticated with a secret key of merchant A."""
    owner = User.objects.create_user("owner-errors@example.com", "pw-long-enough-1")
    _key, raw = api_key_create(
        merchant=merchant_a, kind="secret", mode="test", name="Backend", actor=owner
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def error_of(response) -> dict:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["type", "code", "message", "param", "errors"]
    return body["error"]


@pytest.mark.urls(ENVELOPE_URLS)
def test_validation_errors_list_every_field(api):
    response = api.post(
        "/v1/test/validate",
        {"order_id": "ORDER_123456789", "items": [{"amount": 5}, {"amount": 0}]},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response) == {
        "type": "invalid_request_error",
        "code": "parameter_invalid",
        "message": "order_id: Ensure this field has no more than 8 characters.",
        "param": "order_id",
        "errors": {
            "order_id": ["Ensure this field has no more than 8 characters."],
            "currency": ["This field is required."],
            "items.1.amount": ["Ensure this value is greater than or equal to 1."],
        },
    }


@pytest.mark.urls(ENVELOPE_URLS)
def test_malformed_json_is_a_400_envelope(api):
    response = api.generic(
        "POST", "/v1/test/validate", '{"order_id": ', content_type="application/json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "body_invalid",
        None,
    )
    assert error["message"].startswith("JSON parse error")


@pytest.mark.urls(ENVELOPE_URLS)
def test_unsupported_media_type_is_415_envelope(api):
    response = api.post("/v1/test/validate", "order_id=1", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.urls(ENVELOPE_URLS)
def test_domain_error_answers_its_code_message_and_param(api):
    response = api.post("/v1/test/domain-error", {}, format="json")

    assert response.status_code == 400
    assert error_of(response) == {
        "type": "invalid_request_error",
        "code": "currency_invalid",
        "message": "'EURO' is not a currency.",
        "param": "currency",
        "errors": {"currency": ["'EURO' is not a currency."]},
    }


@pytest.mark.urls(ENVELOPE_URLS)
def test_domain_error_codes_can_map_to_another_status(api):
    response = api.post("/v1/test/domain-error", {"code": "merchant_not_found"}, format="json")

    assert response.status_code == 404
    assert error_of(response) == {
        "type": "invalid_request_error",
        "code": "merchant_not_found",
        "message": "No such merchant.",
        "param": None,
        "errors": {},
    }


@pytest.mark.urls(ENVELOPE_URLS)
def test_throttled_is_429_with_retry_after(api):
    response = api.get("/v1/test/throttled")

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    error = error_of(response)
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited")
    assert error["message"] == "Request was throttled. Expected available in 30 seconds."


@pytest.mark.urls(ENVELOPE_URLS)
def test_permission_denied_is_403_envelope(api):
    response = api.get("/v1/test/forbidden")

    assert response.status_code == 403
    assert error_of(response) == {
        "type": "permission_error",
        "code": "permission_denied",
        "message": "You do not have permission to perform this action.",
        "param": None,
        "errors": {},
    }


@pytest.mark.urls(ENVELOPE_URLS)
def test_unhandled_exception_is_a_500_envelope_without_internals(api, caplog):
    api.raise_request_exception = False
    response = api.get("/v1/test/broken", HTTP_X_REQUEST_ID="req-abcdef123")

    assert response.status_code == 500
    error = error_of(response)
    assert error == {
        "type": "api_error",
        "code": "internal_error",
        "message": "An unexpected error occurred on our side; it has been logged. "
        "Quote request id req-abcdef123 if you contact support.",
        "param": None,
        "errors": {},
    }
    assert b"internal-detail-7f3a" not in response.content
    assert b"RuntimeError" not in response.content
    logged = [r for r in caplog.records if "api_unhandled_exception" in str(r.msg)]
    assert len(logged) == 1
    assert "internal-detail-7f3a" in str(logged[0].msg["exc_info"])


def test_unknown_api_path_is_a_404_envelope():
    response = APIClient().get("/v1/no-such-thing")

    assert response.status_code == 404
    assert error_of(response) == {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": "Unrecognised request URL (GET: /v1/no-such-thing).",
        "param": None,
        "errors": {},
    }


def test_wrong_method_is_a_405_envelope(api):
    response = api.post("/v1/account", {}, format="json")

    assert response.status_code == 405
    assert error_of(response) == {
        "type": "invalid_request_error",
        "code": "method_not_allowed",
        "message": 'Method "POST" not allowed.',
        "param": None,
        "errors": {},
    }
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_html_is_never_rendered(api):
    response = api.get("/v1/account", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert error_of(response)["code"] == "not_acceptable"
