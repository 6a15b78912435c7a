"""One click: the device remembers a token for the voucher (never the code), per merchant."""

from __future__ import annotations

import hashlib

import pytest
from django_tenants.utils import schema_context

from checkout.models import RememberedVoucher
from checkout.remember import cookie_name
from tests.checkout.support import (
    PLATFORM,
    confirm_token,
    frame_path,
    frame_post,
    issue,
    open_session,
    pay,
)

pytestmark = pytest.mark.django_db


def remembered(merchant) -> list[RememberedVoucher]:
    with schema_context(merchant.schema_name):
        return list(RememberedVoucher.objects.select_related("voucher"))


def test_remember_then_pay_in_one_click_then_forget(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="10.00", order_id="ONE-1")
    response = pay(client, merchant_a, first["id"], voucher.code, remember=True)

    assert response.status_code == 200
    set_cookie = response["Set-Cookie"]
    name = cookie_name(merchant_a.slug)
    assert set_cookie.startswith(f"{name}=")
    assert "HttpOnly" in set_cookie
    assert "Path=/checkout/" in set_cookie
    token = set_cookie.split(";")[0].split("=", 1)[1]
    assert voucher.code not in set_cookie
    [row] = remembered(merchant_a)
    assert row.voucher_id == voucher.pk
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()

    client.cookies[name] = token
    second = open_session(client, pk_a, amount="25.00", order_id="ONE-2")
    page = client.get(frame_path(merchant_a, second["id"])).content.decode()
    assert f"with voucher ••••{voucher.code[-4:]}" in page
    assert 'id="sp-pay-remembered"' in page

    paid = frame_post(
        client,
        merchant_a,
        second["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_a, second["id"]), "use_remembered": True},
    )
    assert paid.status_code == 200, paid.json()
    assert paid.json()["payment"]["tenders"][0]["voucher"] == voucher.public_id
    with schema_context(merchant_a.schema_name):
        voucher.refresh_from_db()
    assert voucher.balance == 6_500

    forgotten = frame_post(client, merchant_a, second["id"], "forget")
    assert "Max-Age=0" in forgotten["Set-Cookie"]
    assert remembered(merchant_a) == []
    third = open_session(client, pk_a, amount="5.00", order_id="ONE-3")
    assert (
        'id="sp-pay-remembered"'
        not in client.get(frame_path(merchant_a, third["id"])).content.decode()
    )


def test_a_remembered_voucher_that_cannot_cover_the_amount_is_not_offered_in_one_click(
    client, merchant_a, pk_a
):
    voucher = issue(merchant_a, 2_000)
    first = open_session(client, pk_a, amount="10.00", order_id="LOW-1")
    token = pay(client, merchant_a, first["id"], voucher.code, remember=True)["Set-Cookie"]
    client.cookies[cookie_name(merchant_a.slug)] = token.split(";")[0].split("=", 1)[1]

    second = open_session(client, pk_a, amount="50.00", order_id="LOW-2")
    page = client.get(frame_path(merchant_a, second["id"])).content.decode()

    assert 'id="sp-pay-remembered"' not in page
    assert "does not cover this amount" in page


def test_a_token_of_one_merchant_means_nothing_to_another(client, merchant_a, merchant_b, pk_a):
    from tests.checkout.support import publishable_key

    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="1.00", order_id="X-1")
    cookie = pay(client, merchant_a, first["id"], voucher.code, remember=True)["Set-Cookie"]
    token = cookie.split(";")[0].split("=", 1)[1]
    client.cookies[cookie_name(merchant_b.slug)] = token

    session_b = open_session(client, publishable_key(merchant_b), amount="1.00", order_id="X-1")
    response = frame_post(
        client,
        merchant_b,
        session_b["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_b, session_b["id"]), "use_remembered": True},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "remembered_voucher_missing"


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip() for part in set_cookie.split(";")[1:]}


def test_over_https_the_cookie_is_partitioned_and_usable_in_the_shops_frame(
    client, merchant_a, pk_a
):
    """On a shop's page the frame is a third party: the cookie must be Secure, SameSite=None
    and Partitioned (kept per top-level site), or browsers drop it."""
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="10.00", order_id="TLS-1")
    https = {"secure": True, "HTTP_ORIGIN": PLATFORM.replace("http://", "https://")}
    code = {"code": voucher.code}
    added = frame_post(client, merchant_a, session["id"], "vouchers", code, **https)
    assert added.status_code == 200, added.json()
    body = {"confirm_token": confirm_token(merchant_a, session["id"]), "remember": True}
    paid = frame_post(client, merchant_a, session["id"], "confirm", body, **https)

    assert paid.status_code == 200, paid.json()
    assert _attributes(paid["Set-Cookie"]) >= {
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Partitioned",
        "Path=/checkout/",
    }
    forgotten = frame_post(client, merchant_a, session["id"], "forget", **https)
    assert _attributes(forgotten["Set-Cookie"]) >= {"Max-Age=0", "Secure", "Partitioned"}


def test_over_plain_http_the_cookie_is_first_party_only(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="10.00", order_id="HTTP-1")
    paid = pay(client, merchant_a, session["id"], voucher.code, remember=True)

    attributes = _attributes(paid["Set-Cookie"])
    assert "SameSite=Lax" in attributes
    assert not attributes & {"Secure", "SameSite=None", "Partitioned"}
