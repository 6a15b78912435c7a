"""Merchant API (secret key): create and read checkout sessions, read payments.

POST /v1/checkout/sessions         a session with an authoritative amount (Idempotency-Key)
GET  /v1/checkout/sessions/{id}    a session
GET  /v1/payments/{id}             a payment
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout.models import CheckoutSession, Payment
from checkout.objects import session_object
from checkout.sessions import (
    MAX_AMOUNT,
    MAX_TTL,
    MIN_TTL,
    checkout_session_create,
    checkout_session_get,
)
from superpayment.api.fields import StrictCharField, StrictIntegerField, StrictURLField
from superpayment.api.idempotency import idempotent

# The order id's rule (checkout.sessions.ORDER_ID_PATTERN) with anchors that refuse a trailing
# newline, which Python's `$` lets through.
ORDER_ID_VALIDATOR = RegexValidator(
    r"\A[\x21-\x7e]{1,64}\Z",
    message="1 to 64 printable ASCII characters, no spaces.",
)


class SessionCreateInput(serializers.Serializer):
    amount = StrictIntegerField(
        min_value=1, max_value=MAX_AMOUNT, help_text="Minor units: 9900 is €99.00."
    )
    currency = StrictCharField(
        required=False,
        min_length=3,
        max_length=3,
        help_text="ISO 4217; default: the merchant's default currency.",
    )
    order_id = StrictCharField(
        max_length=64,
        validators=[ORDER_ID_VALIDATOR],
        help_text=(
            "Your order id: 1 to 64 printable ASCII characters, no spaces; an order is paid at "
            "most once per mode."
        ),
    )
    expires_in = StrictIntegerField(
        required=False,
        service_range=(int(MIN_TTL.total_seconds()), int(MAX_TTL.total_seconds())),
        help_text="Seconds the session stays open: 300 to 86400 (default 1800).",
    )
    success_url = StrictURLField(required=False, allow_blank=True, max_length=2000)
    cancel_url = StrictURLField(required=False, allow_blank=True, max_length=2000)


class SessionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`cs_…`; pass it to the widget as data-session.")
    object = serializers.CharField(help_text='Always "checkout.session".')
    livemode = serializers.BooleanField()
    status = serializers.ChoiceField(choices=CheckoutSession.Status.choices)
    source = serializers.ChoiceField(choices=CheckoutSession.Source.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    order_id = serializers.CharField()
    origin = serializers.CharField(allow_null=True)
    success_url = serializers.CharField(allow_null=True)
    cancel_url = serializers.CharField(allow_null=True)
    payment = serializers.CharField(allow_null=True, help_text="`pay_…` once paid.")
    expires_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    version = serializers.IntegerField()


class TenderOutput(serializers.Serializer):
    voucher = serializers.CharField()
    code_last4 = serializers.CharField()
    amount = serializers.IntegerField()


class CommissionOutput(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    plan = serializers.DictField()


class PaymentOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "payment".')
    livemode = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    order_id = serializers.CharField()
    checkout_session = serializers.CharField()
    tenders = TenderOutput(many=True)
    commission = CommissionOutput()
    created_at = serializers.DateTimeField()
    version = serializers.IntegerField()
    amount_refunded = serializers.IntegerField(help_text="The sum of the payment's refunds.")
    refund_status = serializers.ChoiceField(
        choices=["none", "partial", "full"], help_text="Refunded: none, partial or full."
    )


class CheckoutSessionCreateView(APIView):
    @extend_schema(
        operation_id="checkout_session_create",
        summary="Create a checkout session",
        description=(
            "A session whose amount the page cannot change. Render the widget with "
            '`data-session="cs_…"` and your publishable key.'
        ),
        request=SessionCreateInput,
        responses={201: SessionOutput},
        tags=["Checkout"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = SessionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        session = checkout_session_create(
            livemode=request.auth.livemode,
            amount=values["amount"],
            currency=values.get("currency") or request.auth.merchant.default_currency,
            order_id=values["order_id"],
            source=CheckoutSession.Source.SERVER,
            expires_in=values.get("expires_in"),
            success_url=values.get("success_url", ""),
            cancel_url=values.get("cancel_url", ""),
            merchant=request.auth.merchant,
        )
        return Response(session_object(session), status=status.HTTP_201_CREATED)


class CheckoutSessionDetailView(APIView):
    @extend_schema(
        operation_id="checkout_session_retrieve",
        summary="Retrieve a checkout session",
        responses=SessionOutput,
        tags=["Checkout"],
    )
    def get(self, request: Request, session_id: str) -> Response:
        session = checkout_session_get(public_id=session_id, livemode=request.auth.livemode)
        return Response(session_object(session))


class PaymentDetailView(APIView):
    @extend_schema(
        operation_id="payment_retrieve",
        summary="Retrieve a payment",
        description="Confirm a payment from your backend: compare amount and order_id with "
        "your order before you ship.",
        responses=PaymentOutput,
        tags=["Payments"],
    )
    def get(self, request: Request, payment_id: str) -> Response:
        # With `amount_refunded` and `refund_status` (refunds: checkout.refund_selectors).
        from checkout.refund_objects import payment_with_refunds_object
        from checkout.refund_selectors import payment_get

        payment = payment_get(public_id=payment_id, livemode=request.auth.livemode)
        return Response(payment_with_refunds_object(payment))
