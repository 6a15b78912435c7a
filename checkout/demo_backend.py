"""The demo shop's backend: what a merchant's server does with SuperPayment's webhooks.

It receives `payment.succeeded` on /demo/shop/webhooks, verifies the Standard Webhooks signature
with the `standardwebhooks` package (the same code a merchant would run), drops duplicates by
`webhook-id`, and only then marks the demo order paid. The demo page polls
/demo/shop/orders/<order_id> and shows "paid — confirmed by webhook" — never trusting the
browser's own success event for that.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from superpayment.money import amount_parse
from tenants.models import Merchant
from webhooks.endpoints import endpoint_create
from webhooks.errors import WebhookError
from webhooks.models import WebhookEndpoint
from webhooks.ssrf import url_check

log = structlog.get_logger(__name__)

DEMO_WEBHOOK_PATH = "/demo/shop/webhooks"
DEMO_EVENTS = ["payment.succeeded", "payment.refunded"]
ORDER_TTL_SECONDS = 24 * 3600
# The demo backend's own storage: a merchant would use its order database.
ORDERS = "global"


def demo_webhook_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + DEMO_WEBHOOK_PATH


def demo_webhook_url_refusal() -> str | None:
    """Why the webhook URLs check (webhooks.ssrf) refuses the demo backend's URL — with
    WEBHOOKS_ALLOW_PRIVATE=0 it is a private address (http://127.0.0.1:…) — or None."""
    try:
        url_check(demo_webhook_url())
    except WebhookError as exc:
        return exc.message
    return None


def demo_webhook_endpoint_ensure(*, merchant: Merchant) -> WebhookEndpoint | None:
    """The demo merchant's test-mode endpoint pointing at the demo backend (idempotent), or None
    when its URL is refused: the demo then runs without it (no "confirmed by webhook")."""
    if demo_webhook_url_refusal() is not None:
        return None
    with schema_context(merchant.schema_name):
        endpoint = WebhookEndpoint.objects.filter(url=demo_webhook_url(), livemode=False).first()
        if endpoint is None:
            endpoint = endpoint_create(
                url=demo_webhook_url(),
                enabled_events=DEMO_EVENTS,
                livemode=False,
                description="Demo shop backend (make run)",
            )
        return endpoint


def demo_backend_setup(*, merchant: Merchant) -> str:
    """`setup_platform --demo`'s step for the demo backend: the line it prints."""
    endpoint = demo_webhook_endpoint_ensure(merchant=merchant)
    if endpoint is not None:
        return f"Demo shop backend receives webhooks at {endpoint.url}"
    return (
        f"Demo shop backend left out: its webhook URL {demo_webhook_url()} is refused "
        f"({demo_webhook_url_refusal()}) since WEBHOOKS_ALLOW_PRIVATE is off. Payments work; "
        "the demo page will not show 'paid — confirmed by webhook'. "
        "Run with WEBHOOKS_ALLOW_PRIVATE=1 (the default of `make run`) to include it."
    )


def _demo_secrets(slug: str) -> list[str]:
    """The secrets the demo backend was configured with (current and, during a rotation, the
    previous one): what a merchant copies from the portal into its own configuration."""
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is None:
        return []
    with schema_context(merchant.schema_name):
        endpoint = WebhookEndpoint.objects.filter(url=demo_webhook_url(), livemode=False).first()
        if endpoint is None:
            return []
        return [s for s in (endpoint.secret, endpoint.previous_secret) if s]


def _verified_event(request: HttpRequest, secrets: list[str]) -> dict | None:
    headers = {name.lower(): value for name, value in request.headers.items()}
    body = request.body.decode("utf-8")
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
    return None


def _amount_matches_order(payment: dict) -> bool:
    """The shop prices its orders itself; the webhook's amount must be that price."""
    from checkout.demo import DEMO_PRODUCT

    expected = amount_parse(DEMO_PRODUCT["amount"], DEMO_PRODUCT["currency"])
    return payment.get("amount") == expected and payment.get("currency") == DEMO_PRODUCT["currency"]


def _order_key(order_id: str) -> str:
    return f"demo-shop:order:{order_id}"


@csrf_exempt
@require_POST
def demo_shop_webhook(request: HttpRequest) -> HttpResponse:
    from checkout.demo import DEMO_SLUG

    event = _verified_event(request, _demo_secrets(DEMO_SLUG))
    if event is None:
        log.warning("demo_webhook_rejected", reason="signature")
        return HttpResponse(status=400)
    orders = caches[ORDERS]
    # At-least-once delivery: the same webhook-id may arrive twice; apply it once.
    if not orders.add(f"demo-shop:seen:{request.headers['webhook-id']}", 1, ORDER_TTL_SECONDS):
        return HttpResponse(status=204)
    payment = event["data"]["object"]
    key = _order_key(payment.get("order_id", ""))
    current = orders.get(key) or {}
    # Events may arrive out of order: keep the highest version of the payment seen so far.
    if current.get("version", 0) >= payment.get("version", 0):
        return HttpResponse(status=204)
    status = "paid" if event["type"] == "payment.succeeded" else "refunded"
    if status == "paid" and not _amount_matches_order(payment):
        status = "amount_mismatch"  # a page could have been edited: never ship on a wrong amount
    orders.set(
        key,
        {
            "status": status,
            "payment": payment.get("id"),
            "amount": payment.get("amount"),
            "currency": payment.get("currency"),
            "version": payment.get("version", 0),
        },
        ORDER_TTL_SECONDS,
    )
    log.info("demo_order_updated", order=payment.get("order_id"), status=status)
    return HttpResponse(status=204)


@require_GET
def demo_shop_order(request: HttpRequest, order_id: str) -> JsonResponse:
    order = caches[ORDERS].get(_order_key(order_id)) or {"status": "unpaid"}
    return JsonResponse({"order_id": order_id, **order})
