"""Portal pages for payments: the list (search by order id, filters, totals), a payment's page
(vouchers used, refunds, events) and refunding with a confirmation step. Every member reads
(Perm.VIEW); owners and admins refund (Perm.REFUND)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tenants.utils import schema_context

from checkout.models import Payment
from checkout.refund_selectors import (
    RefundStatus,
    payment_list,
    payment_totals,
    payments_with_refunds,
    refund_list,
    refund_status_of,
)
from checkout.refunds import REFUND_REASON_MAX_LENGTH, payment_refund
from superpayment.csv_stream import csv_response
from superpayment.errors import DomainError
from superpayment.money import (
    MoneyError,
    amount_format,
    amount_parse_localized,
    currency_exponent,
)
from tenants.permissions import Perm, role_allows
from tenants.portal import merchant_view, portal_object_mode
from tenants.regional import active_locale

PAGE_SIZE = 50
# What a payment's refund state reads as on its pages.
STATE_LABELS = {
    RefundStatus.NONE: "Succeeded",
    RefundStatus.PARTIAL: "Partially refunded",
    RefundStatus.FULL: "Refunded",
}
EVENTS_SHOWN = 50


def _can_refund(request: HttpRequest) -> bool:
    return role_allows(request.membership.role, Perm.REFUND) and request.merchant.is_active


def _date(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filters(request: HttpRequest) -> dict:
    query = request.GET
    refund_status = query.get("status") or None
    return {
        "mode": "live" if request.livemode else "test",  # the portal's mode (tenants.portal)
        "q": (query.get("q") or "").strip()[:80],
        "status": refund_status if refund_status in RefundStatus.VALUES else None,
        "currency": (query.get("currency") or "").strip().upper()[:3],
        "from": _date(query.get("from")),
        "to": _date(query.get("to")),
    }


def _payment_of_merchant(payment_id: str) -> Payment:
    # The schema is the merchant's: another merchant's id finds nothing here.
    payment = (
        payments_with_refunds(Payment.objects.filter(public_id=payment_id))
        .select_related("session")
        .first()
    )
    if payment is None:
        raise Http404("No such payment")
    return payment


def _plain_amount(minor: int, currency: str) -> str:
    """9900 EUR -> "99.00": what the amount field accepts."""
    exponent = currency_exponent(currency)
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def _state(payment: Payment) -> tuple[str, str]:
    """(refund status, label) of a payment annotated with `amount_refunded`."""
    status = refund_status_of(amount=payment.amount, amount_refunded=payment.amount_refunded)
    return status, STATE_LABELS[status]


def _payments_matching(filters: dict):
    return payment_list(
        livemode=filters["mode"] == "live",
        refund_status=filters["status"],
        query=filters["q"] or None,
        currency=filters["currency"] or None,
        created_gte=_day_start(filters["from"]) if filters["from"] else None,
        created_lte=(
            _day_start(filters["to"] + datetime.timedelta(days=1))
            - datetime.timedelta(microseconds=1)
            if filters["to"]
            else None
        ),
    )


def _keyset_page(payments, request: HttpRequest) -> tuple[list, int | None, int | None]:
    """One page, newest first, and the ids to continue from: older (`after`) and newer
    (`before`); None where there is nothing more that way."""
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    if before.isdigit():
        rows = list(payments.filter(pk__gt=int(before)).order_by("id")[: PAGE_SIZE + 1])
        more_newer = len(rows) > PAGE_SIZE
        page = list(reversed(rows[:PAGE_SIZE]))
        newer = page[0].pk if more_newer and page else None
        older = page[-1].pk if page else None
        return page, older, newer
    query = payments.order_by("-id")
    if after.isdigit():
        query = query.filter(pk__lt=int(after))
    rows = list(query[: PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    older = page[-1].pk if len(rows) > PAGE_SIZE else None
    newer = page[0].pk if after.isdigit() and page else None
    return page, older, newer


def _payments_csv(payments, schema_name: str):
    header = [
        "payment_id",
        "order_id",
        "created_at_utc",
        "livemode",
        "currency",
        "amount_minor",
        "amount",
        "refunded_minor",
        "refund_status",
        "vouchers",
    ]

    def rows():
        # Streamed after the view returns, when the request is back in the public schema.
        with schema_context(schema_name):
            for payment in payments.order_by("-id").iterator(chunk_size=2000):
                yield _csv_row(payment)

    return csv_response("payments.csv", header, rows())


def _csv_row(payment: Payment) -> list:
    return [
        payment.public_id,
        payment.order_id,
        payment.created_at.astimezone(datetime.UTC).isoformat(),
        payment.livemode,
        payment.currency,
        payment.amount,
        _plain_amount(payment.amount, payment.currency),
        payment.amount_refunded,
        _state(payment)[0],
        " ".join(f"…{tender['code_last4']}" for tender in payment.tenders),
    ]


@merchant_view(Perm.VIEW)
@require_GET
def payments_page(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    payments = _payments_matching(filters)
    if request.GET.get("format") == "csv":
        return _payments_csv(payments, request.merchant.schema_name)
    totals = payment_totals(payments=payments)
    page, older, newer = _keyset_page(payments, request)
    rows = [(payment, _state(payment)) for payment in page]
    query = request.GET.copy()
    for name in ("after", "before", "format"):
        query.pop(name, None)
    return render(
        request,
        "portal/payments/list.html",
        {
            "rows": rows,
            "totals": totals,
            "filters": filters,
            "statuses": [(value, RefundStatus.LABELS[value]) for value in RefundStatus.VALUES],
            "next_after": older,
            "newer_before": newer,
            "query": query.urlencode(),
        },
    )


def _events_of(payment: Payment) -> list:
    from webhooks.selectors import event_list

    return list(
        event_list(livemode=payment.livemode)
        .filter(data_object__id=payment.public_id)
        .order_by("-created_at", "-id")[:EVENTS_SHOWN]
    )


@merchant_view(Perm.VIEW)
@require_GET
def payment_detail(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = _payment_of_merchant(payment_id)
    portal_object_mode(
        request,
        livemode=payment.livemode,
        list_url=reverse("portal:payments", kwargs={"slug": request.merchant.slug}),
    )
    remaining = payment.amount - payment.amount_refunded
    return render(
        request,
        "portal/payments/detail.html",
        {
            "payment": payment,
            "state": _state(payment),
            "remaining": remaining,
            "refunds": list(refund_list(payment=payment)),
            "events": _events_of(payment),
            "can_refund": _can_refund(request) and remaining > 0,
        },
    )


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=21, help_text="In the payment's currency, e.g. 25.00")
    reason = forms.CharField(
        required=False, max_length=REFUND_REASON_MAX_LENGTH, help_text="Optional."
    )

    def __init__(self, *args, currency: str, remaining: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.remaining = remaining

    def clean_amount(self) -> int:
        try:
            minor = amount_parse_localized(
                self.cleaned_data["amount"], self.currency, active_locale()
            )
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from None
        if minor <= 0:
            raise forms.ValidationError("Enter an amount greater than zero.")
        if minor > self.remaining:
            most = amount_format(self.remaining, self.currency, active_locale())
            raise forms.ValidationError(f"At most {most} can still be refunded.")
        return minor


@merchant_view(Perm.REFUND)
def payment_refund_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    """GET: the refund form. POST without `confirm`: the summary to confirm. POST with
    `confirm`: the refund, then back to the payment's page."""
    payment = _payment_of_merchant(payment_id)
    slug = request.merchant.slug
    remaining = payment.amount - payment.amount_refunded
    if remaining <= 0:
        messages.info(request, "This payment is already refunded in full.")
        return redirect("portal:payment_detail", slug=slug, payment_id=payment.public_id)
    initial = {"amount": _plain_amount(remaining, payment.currency)}
    form = RefundForm(
        request.POST or None,
        initial=initial,
        currency=payment.currency,
        remaining=remaining,
    )
    confirming = False
    if request.method == "POST" and form.is_valid():
        amount = form.cleaned_data["amount"]
        if request.POST.get("confirm") != "yes":
            confirming = True
        else:
            try:
                refund = payment_refund(
                    payment=payment,
                    amount=amount,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    request=request,
                    merchant=request.merchant,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    f"Refunded {amount_format(refund.amount, refund.currency, active_locale())}; "
                    "the vouchers hold it again.",
                )
                return redirect("portal:payment_detail", slug=slug, payment_id=payment.public_id)
    return render(
        request,
        "portal/payments/refund.html",
        {
            "payment": payment,
            "remaining": remaining,
            "form": form,
            "confirming": confirming,
            "amount": form.cleaned_data.get("amount") if confirming else None,
        },
    )
