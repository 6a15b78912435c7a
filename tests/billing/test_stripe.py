"""Stripe through the real SDK against a local fake: customer, invoice, items, finalization;
webhooks signed as Stripe signs them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.invoicing import invoice_run
from billing.models import Invoice, StripeCustomer, StripeEvent
from billing.stripe_sync import invoice_send
from tenants.models import AuditLog
from tests.billing.stripe_fake import FakeStripe, stripe_event, stripe_signature
from tests.billing.support import MARCH, open_invoice, pay, refund

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_billing"


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_API_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    yield fake
    fake.stop()


def test_customer_and_invoice_are_created_with_the_expected_parameters(
    merchant_a, fake_stripe, django_capture_on_commit_callbacks
):
    pay(merchant_a, "s1", 10_000)
    pay(merchant_a, "s2", 10_000)
    refund(merchant_a, "s2", "s2r", 5_000)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_run(period_start=MARCH)
    assert len(callbacks) == 1  # the send tasks are queued after commit
    invoice = Invoice.objects.get(merchant=merchant_a)
    assert invoice.stripe_state == "pending"
    invoice_send(invoice_id=invoice.pk)
    invoice.refresh_from_db()

    paths = [r["path"] for r in fake_stripe.requests]
    assert paths == [
        "/v1/customers",
        "/v1/invoices",
        "/v1/invoiceitems",
        "/v1/invoiceitems",
        "/v1/invoiceitems",
        f"/v1/invoices/{invoice.stripe_invoice_id}/finalize",
    ]
    customer, created, item1, item2, vat, finalize = fake_stripe.requests
    assert customer["authorization"] == "Bearer sk_test_fake"
    assert customer["form"]["name"] == merchant_a.name
    assert customer["form"]["metadata[merchant_slug]"] == merchant_a.slug
    assert customer["idempotency_key"] == f"sp-customer-{merchant_a.pk}"
    cus_id = StripeCustomer.objects.get(merchant=merchant_a).stripe_customer_id
    assert created["form"] == {
        "customer": cus_id,
        "currency": "eur",
        "collection_method": "send_invoice",
        "days_until_due": "14",
        "auto_advance": "false",
        "pending_invoice_items_behavior": "exclude",
        "description": "SuperPayment commission, March 2026",
        "metadata[superpayment_invoice_id]": str(invoice.pk),
        "metadata[number]": invoice.number,
        "metadata[period_start]": "2026-03-01",
    }
    assert created["idempotency_key"] == f"sp-invoice-{invoice.pk}-attempt-1-create"
    assert (item1["form"]["amount"], item2["form"]["amount"]) == ("340", "-85")
    # merchant_a is in the issuer's country (DE): 19 % of the net 255, rounded half-up.
    assert (vat["form"]["amount"], invoice.tax_amount) == ("48", 48)
    assert vat["form"]["description"].startswith("VAT 19 %")
    assert item1["form"]["invoice"] == invoice.stripe_invoice_id
    assert item1["idempotency_key"] == f"sp-invoice-{invoice.pk}-attempt-1-item-commission"
    assert finalize["idempotency_key"] == f"sp-invoice-{invoice.pk}-attempt-1-finalize"
    invoice.refresh_from_db()
    assert invoice.stripe_state == "sent"
    assert invoice.stripe_hosted_url == f"https://invoice.stripe.test/i/{invoice.stripe_invoice_id}"
    # Sent once: sending again asks Stripe nothing.
    invoice_send(invoice_id=invoice.pk)
    assert len(fake_stripe.requests) == 6


def test_second_invoice_reuses_the_customer_and_a_failure_is_retried_with_a_new_key(
    merchant_a, fake_stripe
):
    StripeCustomer.objects.create(merchant=merchant_a, stripe_customer_id="cus_existing")
    invoice = open_invoice(merchant_a)
    Invoice.objects.filter(pk=invoice.pk).update(stripe_state="pending")
    fake_stripe.fail_paths = {"/v1/invoiceitems"}
    with pytest.raises(Exception, match="Stripe refused"):
        invoice_send(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    assert (invoice.stripe_state, invoice.stripe_attempts) == ("failed", 1)
    assert invoice.stripe_invoice_id  # created, kept: the next attempt resumes from there
    fake_stripe.fail_paths = set()
    invoice_send(invoice_id=invoice.pk)
    paths = [r["path"] for r in fake_stripe.requests]
    assert "/v1/customers" not in paths
    assert paths.count("/v1/invoices") == 1
    assert (
        fake_stripe.requests[-1]["idempotency_key"] == f"sp-invoice-{invoice.pk}-attempt-2-finalize"
    )
    invoice.refresh_from_db()
    assert invoice.stripe_state == "sent"


def test_without_a_stripe_key_invoices_stay_local(merchant_a, settings):
    settings.STRIPE_API_KEY = ""
    pay(merchant_a, "local", 1000)
    invoice_run(period_start=MARCH)
    invoice = Invoice.objects.get(merchant=merchant_a)
    assert (invoice.status, invoice.stripe_state) == ("open", "not_sent")
    assert invoice.get_stripe_state_display() == "Not sent to Stripe"


def _post(client, payload: bytes, signature: str):
    return client.post(
        reverse("stripe_webhook"),
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


@pytest.fixture
def sent_invoice(merchant_a, fake_stripe):
    invoice = open_invoice(merchant_a)
    Invoice.objects.filter(pk=invoice.pk).update(stripe_invoice_id="in_hooked", stripe_state="sent")
    return invoice


def test_webhook_with_a_bad_signature_is_refused_and_changes_nothing(client, sent_invoice):
    payload = stripe_event("evt_bad", "invoice.paid", "in_hooked")
    for signature in (
        stripe_signature(payload, "whsec_wrong"),
        stripe_signature(payload, SECRET, timestamp=1_000_000_000),  # outside 5 minutes
        "",
    ):
        assert _post(client, payload, signature).status_code == 400
    sent_invoice.refresh_from_db()
    assert sent_invoice.status == "open"
    assert not StripeEvent.objects.filter(event_id="evt_bad").exists()


def test_invoice_paid_marks_paid_and_a_replay_changes_nothing(client, sent_invoice):
    payload = stripe_event("evt_paid_1", "invoice.paid", "in_hooked")
    response = _post(client, payload, stripe_signature(payload, SECRET))
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    sent_invoice.refresh_from_db()
    assert sent_invoice.status == "paid"
    paid_at = sent_invoice.paid_at
    audit = AuditLog.objects.filter(action="invoice.paid", target_id=str(sent_invoice.pk))
    assert audit.count() == 1 and audit.get().actor_type == "stripe"

    replay = _post(client, payload, stripe_signature(payload, SECRET))
    assert replay.status_code == 200
    assert replay.json()["outcome"] == "duplicate"
    sent_invoice.refresh_from_db()
    assert (sent_invoice.status, sent_invoice.paid_at) == ("paid", paid_at)
    assert audit.count() == 1


def test_voided_uncollectible_and_payment_failed_events(client, merchant_a, fake_stripe):
    one = open_invoice(merchant_a, number="SP-2026-900011")
    two = open_invoice(merchant_a, number="SP-2026-900012", currency="USD")
    Invoice.objects.filter(pk=one.pk).update(stripe_invoice_id="in_one")
    Invoice.objects.filter(pk=two.pk).update(stripe_invoice_id="in_two")
    events = [
        ("evt_f", "invoice.payment_failed", "in_one", "recorded"),
        ("evt_u", "invoice.marked_uncollectible", "in_one", "applied"),
        ("evt_v", "invoice.voided", "in_two", "applied"),
        ("evt_p", "invoice.paid", "in_two", "refused"),  # void is final
    ]
    for event_id, kind, stripe_id, outcome in events:
        payload = stripe_event(event_id, kind, stripe_id)
        assert (
            _post(client, payload, stripe_signature(payload, SECRET)).json()["outcome"] == outcome
        )
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, two.status) == ("uncollectible", "void")


def test_a_bank_transfer_marked_paid_is_paid_out_of_band_on_stripe(merchant_a, fake_stripe):
    from billing.lifecycle import invoice_mark_paid
    from tests.factories import UserFactory

    invoice = open_invoice(merchant_a, total=1000)
    Invoice.objects.filter(pk=invoice.pk).update(stripe_invoice_id="in_bank1", stripe_state="sent")
    invoice.refresh_from_db()
    invoice_mark_paid(invoice=invoice, actor=UserFactory(is_staff=True), reference="E2E-7")
    pay_call = fake_stripe.requests[-1]
    assert pay_call["path"] == "/v1/invoices/in_bank1/pay"
    assert pay_call["form"] == {"paid_out_of_band": "true"}
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
