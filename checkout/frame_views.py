"""The payment frame: the platform's page inside the widget's modal, where codes are typed.

GET  /checkout/pay/<slug>/<session>/                       the page
POST /checkout/pay/<slug>/<session>/vouchers               add a code (its share is held)
POST /checkout/pay/<slug>/<session>/vouchers/<id>/remove   drop a voucher
POST /checkout/pay/<slug>/<session>/confirm                pay (idempotent per session)
POST /checkout/pay/<slug>/<session>/release                closed unpaid: release the holds
POST /checkout/pay/<slug>/<session>/forget                 forget the remembered voucher

The page may be framed only by the origins its publishable key allows
(`Content-Security-Policy: frame-ancestors …`); every other platform page keeps
`X-Frame-Options: DENY`. The POST endpoints answer only the frame itself: the request's Origin
must be the platform's own (so a shop's page cannot drive them, remembered voucher or not).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import structlog
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from checkout.errors import CheckoutError, CheckoutErrorCode
from checkout.http import client_ip, domain_error_response, json_body, own_origin, text_field
from checkout.models import CheckoutSession, Payment
from checkout.objects import payment_object
from checkout.payments import (
    checkout_session_confirm,
    checkout_session_plan,
    checkout_session_release,
    checkout_voucher_add,
    checkout_voucher_remove,
)
from checkout.remember import (
    cookie_name,
    remember_cookie_clear,
    remember_cookie_set,
    remembered_voucher_create,
    remembered_voucher_forget,
    remembered_voucher_get,
)
from superpayment.errors import DomainError
from superpayment.money import currency_exponent
from superpayment.text import has_control_characters
from tenants.models import ApiKey, Merchant
from tenants.selectors import merchant_by_slug
from vouchers.holds import HoldPlan, voucher_held_elsewhere
from vouchers.redemption import voucher_is_usable
from vouchers.selectors import voucher_balances

log = structlog.get_logger(__name__)


def _merchant_activate(slug: str) -> Merchant:
    merchant = merchant_by_slug(slug)
    if merchant is None:
        raise Http404("No such checkout.")
    connection.set_tenant(merchant)
    return merchant


def _session_not_found() -> CheckoutError:
    return CheckoutError(
        CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
    )


def _session_require(session_id: str) -> None:
    """404 unless the session is one of the active merchant's."""
    if not CheckoutSession.objects.filter(public_id=session_id).exists():
        raise _session_not_found()


def _frame_ancestors(session: CheckoutSession) -> str:
    key = (
        ApiKey.objects.filter(pk=session.publishable_key_id, revoked_at__isnull=True).first()
        if session.publishable_key_id
        else None
    )
    origins = [origin for origin in (key.allowed_origins if key else []) if " " not in origin]
    return " ".join(origins) if origins else "'none'"


def _plan_data(plan: HoldPlan) -> dict:
    return {
        "amount": plan.amount,
        "covered": plan.covered,
        "remaining": plan.remaining,
        "vouchers": [
            {
                "id": held.voucher_id,
                "code_last4": held.code_last4,
                "held": held.held,
                "available": held.available,
                "expires_at": held.expires_at.isoformat() if held.expires_at else None,
            }
            for held in plan.vouchers
        ],
    }


def _receipt_data(payment: Payment, *, balances: dict[str, int] | None = None) -> dict:
    """What the frame's receipt shows. `balances` (voucher id -> balance left) only for codes
    the shopper typed in this checkout: a remembered voucher's balance is not shown to whoever
    holds the device, nor to anyone reopening a paid checkout."""
    balances = balances or {}
    return {
        "id": payment.public_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "order_id": payment.order_id,
        "created_at": payment.created_at.isoformat(),
        "vouchers": [
            {
                "code_last4": tender["code_last4"],
                "amount": tender["amount"],
                "balance": balances.get(tender["voucher"]),
            }
            for tender in payment.tenders
        ],
    }


def _left(payment: Payment) -> dict[str, int] | None:
    """The paying vouchers' balances, for the receipt: as the confirm left them (it knew them
    under the vouchers' locks), or, for a repeated confirm that returns the first payment, one
    read after the fact, whose failure only leaves the balances off (the payment stands)."""
    known = getattr(payment, "balances_after", None)
    if known is not None:
        return known
    try:
        ids = [tender["voucher"] for tender in payment.tenders]
        return voucher_balances(public_ids=ids, livemode=payment.livemode)
    except DatabaseError:
        log.warning("receipt_balances_unavailable", payment=payment.public_id)
        return None


def _remembered_offer(request: HttpRequest, merchant: Merchant, session: CheckoutSession):
    """The device's remembered voucher for this merchant, if it can pay this session alone."""
    remembered = remembered_voucher_get(
        token=request.COOKIES.get(cookie_name(merchant.slug), ""), livemode=session.livemode
    )
    if remembered is None:
        return None
    voucher = remembered.voucher
    now = timezone.now()
    if not voucher_is_usable(voucher, currency=session.currency, now=now):
        return None
    held = voucher_held_elsewhere(voucher_pks=[voucher.pk], holder=session.public_id, now=now)
    available = voucher.balance - held.get(voucher.pk, 0)
    return {"code_last4": voucher.code_last4, "covers": available >= session.amount}


@xframe_options_exempt
@require_GET
def checkout_frame(request: HttpRequest, slug: str, session_id: str) -> HttpResponse:
    if has_control_characters(session_id):
        raise Http404("No such checkout.")
    merchant = _merchant_activate(slug)
    session = CheckoutSession.objects.filter(public_id=session_id).first()
    if session is None:
        raise Http404("No such checkout.")
    now = timezone.now()
    state = session.status
    if state == CheckoutSession.Status.OPEN and session.expires_at <= now:
        state = CheckoutSession.Status.EXPIRED
    if not merchant.is_active:
        state = "unavailable"
    payment = Payment.objects.filter(session=session).first()
    base = reverse("checkout_frame", kwargs={"slug": slug, "session_id": session_id})
    context = {
        "merchant": merchant,
        "session": session,
        "state": state,
        "payment": payment,
        "exponent": currency_exponent(session.currency),
        "locale": (request.GET.get("locale") or "")[:35],
        "base": base,
        "plan": _plan_data(checkout_session_plan(session=session)) if state == "open" else None,
        "remembered": _remembered_offer(request, merchant, session) if state == "open" else None,
        "receipt": _receipt_data(payment) if payment and state == "completed" else None,
    }
    response = render(request, "checkout/frame.html", context)
    response["Content-Security-Policy"] = (
        f"frame-ancestors {_frame_ancestors(session)}; default-src 'self'; "
        "script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'"
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def frame_endpoint(view: Callable) -> Callable:
    """POST, from the frame itself only, JSON in and out, in the merchant's schema."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request: HttpRequest, slug: str, session_id: str, **kwargs) -> HttpResponse:
        if request.headers.get("Origin") != own_origin(request):
            return JsonResponse(
                {
                    "error": {
                        "type": "permission_error",
                        "code": "origin_not_allowed",
                        "message": "Only the payment page itself may do this.",
                        "param": None,
                        "errors": {},
                    }
                },
                status=403,
            )
        try:
            merchant = merchant_by_slug(slug)
            if merchant is None or has_control_characters(session_id):
                raise _session_not_found()
            connection.set_tenant(merchant)
            if not merchant.is_active:
                raise CheckoutError(
                    CheckoutErrorCode.SESSION_NOT_FOUND,
                    "This shop cannot take payments at the moment.",
                )
            data = json_body(request)
            if data is None:
                raise CheckoutError(CheckoutErrorCode.REQUEST_INVALID, "Send a JSON object.")
            return view(request, merchant, session_id, data, **kwargs)
        except DomainError as exc:
            return domain_error_response(exc)

    return wrapper


@frame_endpoint
def frame_voucher_add(request, merchant, session_id, data) -> HttpResponse:
    plan = checkout_voucher_add(
        session_id=session_id,
        code=text_field(data, "code", max_length=100),
        client_ip=client_ip(request),
    )
    return JsonResponse(_plan_data(plan))


@frame_endpoint
def frame_voucher_remove(request, merchant, session_id, data, voucher_id: str) -> HttpResponse:
    if has_control_characters(voucher_id):
        raise CheckoutError(
            CheckoutErrorCode.PARAMETER_INVALID,
            "voucher_id must not contain control characters.",
            param="voucher_id",
        )
    plan = checkout_voucher_remove(session_id=session_id, voucher_id=voucher_id)
    return JsonResponse(_plan_data(plan))


@frame_endpoint
def frame_release(request, merchant, session_id, data) -> HttpResponse:
    # checkout_session_release's lock answers checkout_session_not_found for another's session.
    checkout_session_release(session_id=session_id)
    return JsonResponse({"released": True})


@frame_endpoint
def frame_confirm(request, merchant, session_id, data) -> HttpResponse:
    remembered = None
    token = request.COOKIES.get(cookie_name(merchant.slug), "")
    if data.get("use_remembered"):
        session = CheckoutSession.objects.filter(public_id=session_id).first()
        remembered = session and remembered_voucher_get(token=token, livemode=session.livemode)
        if not remembered:
            raise CheckoutError(
                CheckoutErrorCode.REMEMBERED_VOUCHER_MISSING,
                "This device no longer remembers a voucher; enter a code.",
            )
    payment = checkout_session_confirm(
        merchant=merchant,
        session_id=session_id,
        confirm_token=str(data.get("confirm_token") or ""),
        remembered=remembered,
    )
    response = JsonResponse(
        {
            "payment": payment_object(payment, session_id=session_id),
            "receipt": _receipt_data(payment, balances=None if remembered else _left(payment)),
        }
    )
    if data.get("remember") and not remembered:
        new_token = remembered_voucher_create(payment=payment)
        if new_token:
            if token:
                remembered_voucher_forget(token=token)
            remember_cookie_set(
                response, request=request, merchant_slug=merchant.slug, token=new_token
            )
    return response


@frame_endpoint
def frame_forget(request, merchant, session_id, data) -> HttpResponse:
    _session_require(session_id)
    token = request.COOKIES.get(cookie_name(merchant.slug), "")
    if token:
        remembered_voucher_forget(token=token)
    response = JsonResponse({"forgotten": True})
    remember_cookie_clear(response, request=request, merchant_slug=merchant.slug)
    return response
