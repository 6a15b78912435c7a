"""Every portal URL: another merchant's pages answer 404; a viewer's writes answer 403."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, reverse

from tenants import keys
from tenants.models import ApiKey, Invitation, Membership
from tenants.urls import urlpatterns
from tests.billing.support import open_invoice
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def _flatten(patterns, prefix=""):
    """Every portal route, with the routes the apps include under /dashboard/<slug>/."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _flatten(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


MERCHANT_PATTERNS = [entry for route, entry in _flatten(urlpatterns) if "<slug:slug>" in route]
# Pages that only ever read; every other portal page writes on POST.
READ_ONLY = {
    "vouchers",
    "voucher_detail",
    "voucher_job",
    "webhook_events",
    "overview",
    "payments",
    "payment_detail",
}
WRITE_ONLY = {
    "voucher_status",
    "voucher_adjust",
    "webhook_rotate",
    "webhook_test",
    "webhook_delete",
    "webhook_recover",
    "member_role",
    "member_remove",
    "invitation_revoke",
    "key_roll",
    "key_revoke",
    "key_origins",
    "pay_buttons",
}


@pytest.fixture
def objects_of_b(merchant_b, owner_b):
    """One object of each kind a portal URL can name, all belonging to merchant B."""
    key, _ = keys.api_key_create(
        merchant=merchant_b, kind="publishable", mode="test", name="B widget", actor=owner_b
    )
    invitation = Invitation.objects.create(
        merchant=merchant_b,
        email="x@b.example",
        role="viewer",
        invited_by=owner_b,
        expires_at="2099-01-01T00:00:00Z",
    )
    return {
        "slug": merchant_b.slug,
        "membership_id": Membership.objects.get(merchant=merchant_b, user=owner_b).pk,
        "invitation_id": invitation.pk,
        "key_id": key.pk,
        "invoice_id": open_invoice(merchant_b).pk,
        **_webhook_objects_of(merchant_b),
        **_voucher_objects_of(merchant_b),
        **_payment_objects_of(merchant_b),
    }


def _payment_objects_of(merchant) -> dict:
    from tests.checkout.factories_payments import payment_make

    payment, _vouchers = payment_make(merchant, vouchers=(1000,))
    return {"payment_id": payment.public_id}


def _voucher_objects_of(merchant) -> dict:
    from django_tenants.utils import schema_context

    from vouchers.jobs import voucher_job_create
    from vouchers.services import voucher_issue

    with schema_context(merchant.schema_name):
        voucher = voucher_issue(currency="EUR", amount=1000)
        job = voucher_job_create(count=2, currency="EUR", amount=100)
        return {"voucher_id": voucher.public_id, "job_id": job.public_id}


def _webhook_objects_of(merchant) -> dict:
    from django_tenants.utils import schema_context

    from webhooks.endpoints import endpoint_create
    from webhooks.models import Delivery
    from webhooks.services import event_record

    with schema_context(merchant.schema_name):
        endpoint = endpoint_create(
            url="https://b.example.com/hooks", enabled_events=["*"], livemode=False
        )
        event = event_record(
            event_type="voucher.created",
            data_object={"id": "vch_b", "object": "voucher", "version": 1},
            livemode=False,
        )
        delivery = Delivery.objects.get(event=event, endpoint=endpoint)
        return {"endpoint_id": endpoint.public_id, "delivery_id": delivery.public_id}


def _url(pattern: URLPattern, values: dict) -> str:
    names = {"slug"} | set(pattern.pattern.regex.groupindex)
    missing = names - set(values)
    assert not missing, f"objects_of_b needs an object of merchant B for {missing}"
    return reverse(f"portal:{pattern.name}", kwargs={name: values[name] for name in names})


def test_every_merchant_url_pattern_is_covered():
    assert {p.name for p in MERCHANT_PATTERNS} >= {"overview", "team", "audit", "keys"} | WRITE_ONLY


@pytest.mark.parametrize("pattern", MERCHANT_PATTERNS, ids=lambda p: p.name)
def test_a_member_of_a_gets_404_on_every_page_of_b(client, merchant_a, objects_of_b, pattern):
    client.force_login(member_of(merchant_a, "owner"))
    url = _url(pattern, objects_of_b)
    assert client.get(url).status_code in ({404} if pattern.name not in WRITE_ONLY else {404, 405})
    assert client.post(url, {"role": "owner", "expires_in": "0"}).status_code == 404


@pytest.mark.parametrize("pattern", MERCHANT_PATTERNS, ids=lambda p: p.name)
def test_a_viewer_gets_403_on_every_write(client, merchant_b, objects_of_b, pattern):
    client.force_login(member_of(merchant_b, "viewer"))
    response = client.post(_url(pattern, objects_of_b), {"role": "owner", "email": "e@x.example"})
    # Read-only pages refuse the method (405); every page that writes refuses the role (403).
    assert response.status_code == (405 if pattern.name in READ_ONLY else 403)
    # Nothing changed on B's side.
    assert ApiKey.objects.get(pk=objects_of_b["key_id"]).revoked_at is None
    assert Membership.objects.get(pk=objects_of_b["membership_id"]).role == "owner"


def test_anonymous_visitors_are_sent_to_log_in(client, merchant_a):
    response = client.get(reverse("portal:overview", kwargs={"slug": merchant_a.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_unknown_merchant_is_404_like_a_foreign_one(client, merchant_a):
    client.force_login(member_of(merchant_a, "owner"))
    assert (
        client.get(reverse("portal:overview", kwargs={"slug": "no-such-shop"})).status_code == 404
    )
