"""`POST /stripe/webhook`: Stripe's invoice events, verified by their `Stripe-Signature`."""

from __future__ import annotations

import stripe
import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.lifecycle import stripe_event_process

log = structlog.get_logger(__name__)
TOLERANCE_SECONDS = 300


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse({"error": "Stripe webhooks are not configured."}, status=503)
    try:
        event = stripe.Webhook.construct_event(
            request.body,
            request.headers.get("Stripe-Signature", ""),
            secret,
            tolerance=TOLERANCE_SECONDS,
        )
    except (ValueError, stripe.SignatureVerificationError):
        log.warning("stripe_webhook_refused")
        return JsonResponse({"error": "Invalid signature or payload."}, status=400)
    obj = event["data"]["object"]
    outcome = stripe_event_process(
        event_id=event["id"],
        event_type=event["type"],
        obj=obj.to_dict() if hasattr(obj, "to_dict") else dict(obj),
    )
    return JsonResponse({"received": True, "outcome": outcome})
