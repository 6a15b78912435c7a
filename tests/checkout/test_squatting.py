"""A checkout no one can squat: an unsigned page session `{pk, amount: "0.01", order_id}` must not
pay an order the shop signs or creates on its server, and a refund in full frees the order id."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from checkout.models import CheckoutSession, Payment
from checkout.refunds import payment_refund
from tenants.models import AuditLog, Role
from tenants.services import merchant_pay_buttons_set
from tests.checkout.support import (
    confirm_token,
    frame_post,
    issue,
    open_session,
    pay,
    secret_key,
    widget_open,
)
from tests.checkout.test_sessions_open import signed
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def sessions_of(merchant) -> list[CheckoutSession]:
    with schema_context(merchant.schema_name):
        return list(CheckoutSession.objects.order_by("pk"))


def server_session(merchant, raw_secret: str, *, order_id: str, amount: int = 9900):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_secret}")
    return api.post(
        "/v1/checkout/sessions", {"amount": amount, "order_id": order_id}, format="json"
    )


def squat(client, merchant, pk, order_id: str):
    """The attack: a forged unsigned tag for the shop's order, paid with a one-cent voucher."""
    return widget_open(client, pk, amount="0.01", order_id=order_id)


def test_a_shop_that_refuses_unsigned_buttons_cannot_be_squatted(client, merchant_a, pk_a):
    raw = secret_key(merchant_a)
    merchant_pay_buttons_set(
        merchant=merchant_a, livemode=False, pay_buttons=["signed", "server"], actor=None
    )

    attack = squat(client, merchant_a, pk_a, "ORDER-S")

    assert attack.status_code == 403
    assert attack.json()["error"]["code"] == "pay_button_not_accepted"
    assert attack.json()["error"]["param"] == "signature"
    assert sessions_of(merchant_a) == []
    # The genuine signed tag for that order opens and pays.
    voucher = issue(merchant_a, 9900)
    genuine = open_session(client, pk_a, **signed(merchant_a, raw, order_id="ORDER-S"))
    assert pay(client, merchant_a, genuine["id"], voucher.code).status_code == 200
    # Live mode keeps its own setting (every kind, by default).
    merchant_a.refresh_from_db()
    assert merchant_a.pay_buttons_live == ["page", "signed", "server"]


def test_an_order_opened_signed_or_by_the_server_cannot_be_opened_unsigned(
    client, merchant_a, pk_a
):
    raw = secret_key(merchant_a)
    open_session(client, pk_a, **signed(merchant_a, raw, order_id="ORDER-SIGNED"))
    assert server_session(merchant_a, raw, order_id="ORDER-SERVER").status_code == 201

    for order_id in ("ORDER-SIGNED", "ORDER-SERVER"):
        attack = squat(client, merchant_a, pk_a, order_id)
        assert attack.status_code == 409
        error = attack.json()["error"]
        assert (error["code"], error["param"]) == ("order_requires_signed_checkout", "order_id")
    assert [s.source for s in sessions_of(merchant_a)] == ["signed", "server"]


def test_the_squatters_open_session_is_closed_when_the_shop_opens_the_order(
    client, merchant_a, pk_a
):
    tiny = issue(merchant_a, 1)
    attack = squat(client, merchant_a, pk_a, "ORDER-RACE")
    assert attack.status_code == 201  # unsigned tags are accepted by default
    added = frame_post(client, merchant_a, attack.json()["id"], "vouchers", {"code": tiny.code})
    assert added.status_code == 200

    genuine = server_session(merchant_a, secret_key(merchant_a), order_id="ORDER-RACE")
    assert genuine.status_code == 201

    token = confirm_token(merchant_a, attack.json()["id"])
    paid = frame_post(client, merchant_a, attack.json()["id"], "confirm", {"confirm_token": token})
    assert paid.status_code == 410
    assert paid.json()["error"]["code"] == "checkout_session_expired"
    with schema_context(merchant_a.schema_name):
        assert not Payment.objects.filter(order_id="ORDER-RACE").exists()
        assert CheckoutSession.objects.get(public_id=attack.json()["id"]).version == 2
    # The shop's own session pays the order.
    voucher = issue(merchant_a, 9900)
    open_session(client, pk_a, session=genuine.json()["id"])
    assert pay(client, merchant_a, genuine.json()["id"], voucher.code).status_code == 200


def test_a_shop_may_refuse_server_created_sessions(client, merchant_a, pk_a):
    raw = secret_key(merchant_a)
    created = server_session(merchant_a, raw, order_id="ORDER-1")
    merchant_pay_buttons_set(merchant=merchant_a, livemode=False, pay_buttons=["page"], actor=None)

    refused = server_session(merchant_a, raw, order_id="ORDER-2")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "pay_button_not_accepted"
    # A session created before the change is not rendered either.
    opened = widget_open(client, pk_a, session=created.json()["id"])
    assert opened.status_code == 403
    assert opened.json()["error"]["code"] == "pay_button_not_accepted"
    signed_refused = widget_open(client, pk_a, **signed(merchant_a, raw, order_id="ORDER-3"))
    assert signed_refused.json()["error"]["code"] == "pay_button_not_accepted"


def test_a_payment_refunded_in_full_frees_its_order_id(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 50_000)
    first = open_session(client, pk_a, amount="100.00", order_id="ORDER-R")
    assert pay(client, merchant_a, first["id"], voucher.code).status_code == 200
    with schema_context(merchant_a.schema_name):
        payment = Payment.objects.get(order_id="ORDER-R")
        payment_refund(payment=payment, amount=4_000)

    # Refunded in part, the order is still paid.
    again = widget_open(client, pk_a, amount="100.00", order_id="ORDER-R")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_already_paid"

    with schema_context(merchant_a.schema_name):
        payment_refund(payment=payment, amount=None)
        payment.refresh_from_db()
        assert payment.fully_refunded is True

    second = open_session(client, pk_a, amount="100.00", order_id="ORDER-R")
    assert pay(client, merchant_a, second["id"], voucher.code).status_code == 200
    with schema_context(merchant_a.schema_name):
        paid = Payment.objects.filter(order_id="ORDER-R").order_by("pk")
        assert [(p.session.public_id, p.fully_refunded) for p in paid] == [
            (first["id"], True),
            (second["id"], False),
        ]
    # And paid again, the order id is held once more.
    third = widget_open(client, pk_a, amount="100.00", order_id="ORDER-R")
    assert third.json()["error"]["code"] == "order_already_paid"


def test_two_sessions_of_a_not_fully_refunded_order_pay_once(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 50_000)
    one = open_session(client, pk_a, amount="10.00", order_id="ORDER-TWICE")
    two = open_session(client, pk_a, amount="10.00", order_id="ORDER-TWICE")
    added = frame_post(client, merchant_a, two["id"], "vouchers", {"code": voucher.code})
    assert added.status_code == 200
    assert pay(client, merchant_a, one["id"], voucher.code).status_code == 200
    token = confirm_token(merchant_a, two["id"])
    refused = frame_post(client, merchant_a, two["id"], "confirm", {"confirm_token": token})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "order_already_paid"


# --- the portal setting ------------------------------------------------------------------------


def test_the_overview_recommends_signing_and_saves_the_setting_with_an_audit_row(
    client, merchant_a, owner_a
):
    client.force_login(owner_a)
    overview = client.get(f"/dashboard/{merchant_a.slug}/")
    page = overview.content.decode()
    assert "We recommend" in page and "signing" in page
    assert page.count("data-recommend-signing") == 2  # test and live both accept unsigned

    saved = client.post(
        f"/dashboard/{merchant_a.slug}/pay-buttons/",
        {"mode": "live", "pay_buttons": ["signed", "server"]},
    )

    assert saved.status_code == 302
    merchant_a.refresh_from_db()
    assert merchant_a.pay_buttons_live == ["signed", "server"]
    assert merchant_a.pay_buttons_test == ["page", "signed", "server"]
    entry = AuditLog.objects.get(merchant=merchant_a, action="merchant.pay_buttons_updated")
    assert entry.actor == owner_a
    assert entry.details == {
        "mode": "live",
        "before": ["page", "signed", "server"],
        "after": ["signed", "server"],
    }
    page = client.get(f"/dashboard/{merchant_a.slug}/").content.decode()
    assert page.count("data-recommend-signing") == 1
    # Nothing accepted is refused, and nothing changes.
    client.post(f"/dashboard/{merchant_a.slug}/pay-buttons/", {"mode": "test"})
    merchant_a.refresh_from_db()
    assert merchant_a.pay_buttons_test == ["page", "signed", "server"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.DEVELOPER, True), (Role.ADMIN, True), (Role.VIEWER, False)],
)
def test_who_may_change_the_accepted_pay_buttons(client, merchant_a, role, allowed):
    client.force_login(member_of(merchant_a, role))
    page = client.get(f"/dashboard/{merchant_a.slug}/").content.decode()
    assert ('action="/dashboard/test-alpha/pay-buttons/"' in page) is allowed

    response = client.post(
        f"/dashboard/{merchant_a.slug}/pay-buttons/", {"mode": "test", "pay_buttons": ["signed"]}
    )

    assert response.status_code == (302 if allowed else 403)
    merchant_a.refresh_from_db()
    assert merchant_a.pay_buttons_test == (["signed"] if allowed else ["page", "signed", "server"])
