"""The payment frame's POSTs pass only through the middleware they need (superpayment.lean):
no session, user, messages or CSRF processing, while the headers every answer carries stay."""

from __future__ import annotations

import pytest

from tests.checkout.support import confirm_token, frame_path, frame_post, issue, open_session

pytestmark = pytest.mark.django_db

# Set by middleware outside the lean pair, on every answer.
EVERY_ANSWER = ("X-Request-ID", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def _skipped_the_portal_middleware(response) -> bool:
    request = response.wsgi_request
    return not any(hasattr(request, name) for name in ("session", "user", "_messages", "allauth"))


def test_the_frames_posts_are_lean_requests(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="10.00", order_id="LEAN-1")
    client.cookies["sessionid"] = "a-portal-session-cookie"

    added = frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    confirmed = frame_post(
        client,
        merchant_a,
        session["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_a, session["id"])},
    )

    assert (added.status_code, confirmed.status_code) == (200, 200), confirmed.json()
    for response in (added, confirmed):
        assert _skipped_the_portal_middleware(response)
        assert "Cookie" not in response.get("Vary", "")
        assert all(response.has_header(header) for header in EVERY_ANSWER), response.headers
        assert response["Content-Security-Policy"] == (
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    # Everything else still goes through the whole chain: the frame page itself, for one.
    page = client.get(frame_path(merchant_a, session["id"]))
    assert not _skipped_the_portal_middleware(page)


def test_a_lean_request_from_another_origin_is_still_refused(client, merchant_a, pk_a):
    session = open_session(client, pk_a, amount="10.00", order_id="LEAN-2")
    response = frame_post(
        client,
        merchant_a,
        session["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_a, session["id"])},
        HTTP_ORIGIN="https://shop.example",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert _skipped_the_portal_middleware(response)
