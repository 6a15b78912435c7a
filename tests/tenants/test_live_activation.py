"""Live mode needs activation: before it, live keys can be neither created nor used and live
payments are refused; an owner activates with business details, an enabled live webhook
endpoint and the accepted terms, audited; existing live merchants are kept live."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from billing.profiles import billing_profile_get
from checkout.errors import CheckoutError
from checkout.models import CheckoutSession
from checkout.payments import checkout_session_confirm, checkout_voucher_add
from checkout.sessions import checkout_session_create
from tenants import keys
from tenants.activation import TERMS_VERSION, live_activate, live_activation_status
from tenants.errors import ApiKeyError, TenantError
from tenants.models import ApiKey, AuditAction, AuditLog, Merchant, Role, TermsAcceptance
from tests.checkout.support import widget_open
from tests.conftest import member_of
from vouchers.models import Voucher
from vouchers.services import voucher_issue
from webhooks.endpoints import endpoint_create, endpoint_update

pytestmark = pytest.mark.django_db

DETAILS = {
    "legal_name": "Alpha Test Shop GmbH",
    "address": "Hauptstraße 1\n10115 Berlin",
    "vat_id": "DE136695976",
}


@pytest.fixture
def not_activated(merchant_a) -> Merchant:
    """Merchant A as a merchant that has not activated live mode yet (the suite's fixtures
    activate it)."""
    Merchant.objects.filter(pk=merchant_a.pk).update(live_activated_at=None)
    merchant_a.refresh_from_db()
    return merchant_a


@pytest.fixture
def live_endpoint(settings, not_activated):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with schema_context(not_activated.schema_name):
        return endpoint_create(
            url="http://127.0.0.1:9/live-hooks", enabled_events=["*"], livemode=True
        )


def _activate(merchant, actor, **overrides):
    with schema_context(merchant.schema_name):
        return live_activate(
            merchant=merchant, actor=actor, **(DETAILS | {"terms_accepted": True} | overrides)
        )


def _live_key(merchant, owner, kind="secret"):
    """A live key made while live mode was on (the merchant is then taken back to not
    activated by the test), to see that using it is refused."""
    Merchant.objects.filter(pk=merchant.pk).update(live_activated_at=timezone.now())
    key, raw = keys.api_key_create(
        merchant=Merchant.objects.get(pk=merchant.pk),
        kind=kind,
        mode="live",
        name="Live",
        actor=owner,
        allowed_origins=["https://shop.example"] if kind == "publishable" else (),
    )
    Merchant.objects.filter(pk=merchant.pk).update(live_activated_at=None)
    return key, raw


# Refusals before activation ----------------------------------------------------------------


def test_a_live_key_cannot_be_created_before_activation(not_activated, owner_a):
    for kind in ("secret", "publishable"):
        with pytest.raises(ApiKeyError) as refused:
            keys.api_key_create(
                merchant=not_activated, kind=kind, mode="live", name="Live", actor=owner_a
            )
        assert refused.value.code == "live_mode_not_activated"
    assert not ApiKey.objects.filter(merchant=not_activated, mode="live").exists()
    # Test keys are unaffected.
    keys.api_key_create(
        merchant=not_activated, kind="secret", mode="test", name="Test", actor=owner_a
    )


def test_a_live_key_cannot_be_rolled_before_activation(not_activated, owner_a):
    key, _ = _live_key(not_activated, owner_a)
    with pytest.raises(ApiKeyError) as refused:
        keys.api_key_roll(key=key, actor=owner_a, expires_in=timedelta(0))
    assert refused.value.code == "live_mode_not_activated"
    assert ApiKey.objects.filter(merchant=not_activated, mode="live").count() == 1


def test_the_portal_refuses_a_live_key_with_the_reason(client, not_activated, owner_a):
    client.force_login(owner_a)
    url = reverse("portal:keys", kwargs={"slug": not_activated.slug})

    page = client.get(url).content.decode()
    assert 'id="live-keys-locked"' in page
    response = client.post(url, {"name": "Live", "kind": "secret", "mode": "live"})

    assert response.status_code == 200
    assert "Live mode is not activated for this account" in response.content.decode()
    assert not ApiKey.objects.filter(merchant=not_activated, mode="live").exists()


def test_the_api_refuses_a_live_key_before_activation_in_the_envelope(not_activated, owner_a):
    _key, raw = _live_key(not_activated, owner_a)
    api = APIClient()

    response = api.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {raw}")
    session = api.post(
        "/v1/checkout/sessions",
        {"amount": 990, "currency": "EUR", "order_id": "L-1"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    for refused in (response, session):
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert (error["type"], error["code"]) == ("permission_error", "live_mode_not_activated")
        assert "An owner can activate it in the dashboard" in error["message"]
    with schema_context(not_activated.schema_name):
        assert not CheckoutSession.objects.filter(livemode=True).exists()


def test_the_widget_refuses_a_live_publishable_key_before_activation(
    client, not_activated, owner_a
):
    key, _ = _live_key(not_activated, owner_a, kind="publishable")

    response = widget_open(client, key, amount="9.90", order_id="L-2")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "live_mode_not_activated"


def test_a_live_session_cannot_be_paid_before_activation(not_activated):
    with schema_context(not_activated.schema_name):
        voucher = voucher_issue(currency="EUR", amount=5000, livemode=True)
        session = checkout_session_create(
            livemode=True,
            amount=990,
            currency="EUR",
            order_id="L-3",
            source=CheckoutSession.Source.SERVER,
        )
        checkout_voucher_add(session_id=session.public_id, code=voucher.code, client_ip="::1")
        with pytest.raises(CheckoutError) as refused:
            checkout_session_confirm(
                merchant=not_activated,
                session_id=session.public_id,
                confirm_token=session.confirm_token,
            )
        assert refused.value.code == "live_mode_not_activated"
        assert Voucher.objects.get(pk=voucher.pk).balance == 5000


# Activation ---------------------------------------------------------------------------------


def test_an_owner_activates_and_live_then_works(not_activated, owner_a, live_endpoint):
    merchant = _activate(not_activated, owner_a)

    assert merchant.live_activated
    acceptance = TermsAcceptance.objects.get(merchant=merchant)
    assert (acceptance.user, acceptance.user_email, acceptance.version) == (
        owner_a,
        owner_a.email,
        TERMS_VERSION,
    )
    profile = billing_profile_get(merchant=merchant)
    assert (profile.legal_name, profile.address, profile.vat_id) == (
        DETAILS["legal_name"],
        DETAILS["address"],
        "DE136695976",
    )
    audit = AuditLog.objects.get(merchant=merchant, action=AuditAction.MERCHANT_LIVE_ACTIVATED)
    assert (audit.actor, audit.details["terms_version"]) == (owner_a, TERMS_VERSION)
    _key, raw = keys.api_key_create(
        merchant=merchant, kind="secret", mode="live", name="Live", actor=owner_a
    )
    response = APIClient().get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (response.status_code, response.json()["livemode"]) == (200, True)
    # A second activation changes nothing.
    _activate(merchant, owner_a)
    assert TermsAcceptance.objects.filter(merchant=merchant).count() == 1


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DEVELOPER, Role.VIEWER])
def test_only_an_owner_may_activate(not_activated, live_endpoint, role):
    with pytest.raises(TenantError) as refused:
        _activate(not_activated, member_of(not_activated, role))
    assert refused.value.code == "owner_required"
    assert not Merchant.objects.get(pk=not_activated.pk).live_activated


def test_activation_needs_an_enabled_live_webhook_endpoint(settings, not_activated, owner_a):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with schema_context(not_activated.schema_name):
        endpoint_create(url="http://127.0.0.1:9/test-hooks", enabled_events=["*"], livemode=False)
        live = endpoint_create(url="http://127.0.0.1:9/live", enabled_events=["*"], livemode=True)
        endpoint_update(endpoint=live, enabled=False)
    # A test endpoint and a disabled live one: still refused.
    with pytest.raises(TenantError) as refused:
        _activate(not_activated, owner_a)
    assert refused.value.code == "live_webhook_endpoint_required"
    assert not Merchant.objects.get(pk=not_activated.pk).live_activated
    assert not TermsAcceptance.objects.filter(merchant=not_activated).exists()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"terms_accepted": False}, "terms_not_accepted"),
        ({"legal_name": " "}, "business_details_required"),
        ({"address": ""}, "business_details_required"),
        ({"vat_id": "DE123"}, "vat_id_invalid"),
    ],
)
def test_activation_needs_details_and_terms(not_activated, owner_a, live_endpoint, overrides, code):
    with pytest.raises(TenantError) as refused:
        _activate(not_activated, owner_a, **overrides)
    assert refused.value.code == code
    assert not Merchant.objects.get(pk=not_activated.pk).live_activated
    assert not TermsAcceptance.objects.filter(merchant=not_activated).exists()


def test_a_vat_id_is_optional(not_activated, owner_a, live_endpoint):
    assert _activate(not_activated, owner_a, vat_id="").live_activated


def test_the_activation_page_activates_for_an_owner(client, not_activated, owner_a, live_endpoint):
    client.force_login(owner_a)
    url = reverse("portal:live_activation", kwargs={"slug": not_activated.slug})
    assert "Activate live mode" in client.get(url).content.decode()

    refused = client.post(url, DETAILS)  # terms not ticked
    assert refused.status_code == 200
    assert 'id="id_terms_accepted"' in refused.content.decode()
    assert not Merchant.objects.get(pk=not_activated.pk).live_activated

    response = client.post(url, DETAILS | {"terms_accepted": "on"})
    assert response.status_code == 302
    assert Merchant.objects.get(pk=not_activated.pk).live_activated
    assert 'id="live-activated"' in client.get(url).content.decode()


def test_the_activation_page_refuses_a_non_owner(client, not_activated, live_endpoint):
    admin = member_of(not_activated, Role.ADMIN)
    client.force_login(admin)
    url = reverse("portal:live_activation", kwargs={"slug": not_activated.slug})

    page = client.get(url).content.decode()
    assert "Only an owner of the business can activate live mode." in page
    assert 'name="legal_name"' not in page
    assert client.post(url, DETAILS | {"terms_accepted": "on"}).status_code == 403
    assert not Merchant.objects.get(pk=not_activated.pk).live_activated


def test_status_lists_what_is_missing(not_activated, live_endpoint):
    with schema_context(not_activated.schema_name):
        status = live_activation_status(merchant=not_activated)
    assert (status.activated, status.business_details, status.live_webhook_endpoint) == (
        False,
        False,
        True,
    )


# Merchants that existed before activation ----------------------------------------------------


def test_the_migration_keeps_merchants_with_live_keys_live(merchant_a, merchant_b, owner_a):
    """Merchant A holds a live key (it may have live payments): it stays activated. Merchant B
    has test keys only: it must activate like a new merchant."""
    keys.api_key_create(merchant=merchant_a, kind="secret", mode="live", name="L", actor=owner_a)
    keys.api_key_create(merchant=merchant_b, kind="secret", mode="test", name="T", actor=owner_a)
    Merchant.objects.filter(pk__in=[merchant_a.pk, merchant_b.pk]).update(live_activated_at=None)
    migration = importlib.import_module("tenants.migrations.0011_live_activation")

    with connection.cursor() as cursor:
        cursor.execute(migration.MARK_EXISTING_LIVE)

    assert Merchant.objects.get(pk=merchant_a.pk).live_activated
    assert not Merchant.objects.get(pk=merchant_b.pk).live_activated


def test_activation_checks_the_details_as_the_billing_page_does():
    from tenants.forms import LiveActivationForm

    form = LiveActivationForm(
        {"legal_name": "Shop\x00GmbH", "address": "Street 1\x07", "terms_accepted": "on"}
    )
    assert not form.is_valid()
    assert set(form.errors) == {"legal_name", "address"}
    assert not LiveActivationForm({"terms_accepted": "on"}).is_valid()  # name, address required
