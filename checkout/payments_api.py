"""Merchant API (secret key): list payments, refund them, read refunds.

GET  /v1/payments                      payments, newest first, filtered, cursor-paginated
POST /v1/payments/{id}/refunds         refund all or part of a payment (Idempotency-Key)
GET  /v1/payments/{id}/refunds         a payment's refunds, newest first
GET  /v1/refunds/{id}                  a refund

A key sees only its own mode: a test key test payments, a live key live ones; another mode's or
another merchant's id answers 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout.api import PaymentOutput
from checkout.models import Payment
from checkout.refund_objects import payment_with_refunds_object, refund_object
from checkout.refund_selectors import (
    RefundStatus,
    payment_get,
    payment_list,
    refund_get,
    refund_list,
)
from checkout.refunds import REFUND_REASON_MAX_LENGTH, payment_refund
from checkout.sessions import MAX_AMOUNT
from superpayment.api.fields import (
    StrictCharField,
    StrictChoiceField,
    StrictDateTimeField,
    StrictIntegerField,
)
from superpayment.api.idempotency import idempotent
from superpayment.api.pagination import PAGE_PARAMETERS, ListPagination, page_of

TAG = ["Payments"]


class CreditOutput(serializers.Serializer):
    voucher = serializers.CharField()
    code_last4 = serializers.CharField()
    amount = serializers.IntegerField()


class RefundOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`re_…`")
    object = serializers.CharField(help_text='Always "refund".')
    livemode = serializers.BooleanField()
    status = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    payment = serializers.CharField(help_text="`pay_…`")
    reason = serializers.CharField(allow_null=True)
    credits = CreditOutput(many=True, help_text="What went back to each voucher.")
    commission_reversed = serializers.IntegerField(
        help_text="How much the platform's commission on the payment went down."
    )
    created_at = serializers.DateTimeField()


class RefundCreateInput(serializers.Serializer):
    amount = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_AMOUNT,
        help_text="Minor units; left out: everything not refunded yet.",
    )
    reason = StrictCharField(required=False, allow_blank=True, max_length=REFUND_REASON_MAX_LENGTH)


class _PaymentFilters(serializers.Serializer):
    """The list's query parameters: checked here, and documented from here."""

    status = StrictChoiceField(choices=Payment.Status.values, required=False)
    refund_status = StrictChoiceField(
        choices=RefundStatus.VALUES, required=False, help_text="none, partial or full."
    )
    order_id = StrictCharField(max_length=64, required=False, help_text="Your order id, exactly.")
    currency = StrictCharField(min_length=3, max_length=3, required=False, help_text="ISO 4217.")

    def get_fields(self):
        fields = super().get_fields()
        fields["created[gte]"] = StrictDateTimeField(required=False, help_text="ISO 8601.")
        fields["created[lte]"] = StrictDateTimeField(required=False, help_text="ISO 8601.")
        return fields


def _list_response(view: APIView, request: Request, queryset, render) -> Response:
    paginator = ListPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([render(item) for item in page])


class PaymentListView(APIView):
    @extend_schema(
        operation_id="payments_list",
        summary="List payments",
        description="Newest first, cursor-paginated; each with `amount_refunded`.",
        parameters=[_PaymentFilters, *PAGE_PARAMETERS],
        responses=page_of(PaymentOutput),
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        filters = _PaymentFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        payments = payment_list(
            livemode=request.auth.livemode,
            status=data.get("status"),
            refund_status=data.get("refund_status"),
            order_id=data.get("order_id"),
            currency=data.get("currency"),
            created_gte=data.get("created[gte]"),
            created_lte=data.get("created[lte]"),
        )
        return _list_response(self, request, payments, payment_with_refunds_object)


class PaymentRefundsView(APIView):
    @extend_schema(
        operation_id="payment_refunds_list",
        summary="List a payment's refunds",
        parameters=PAGE_PARAMETERS,
        responses=page_of(RefundOutput),
        tags=TAG,
    )
    def get(self, request: Request, payment_id: str) -> Response:
        payment = payment_get(public_id=payment_id, livemode=request.auth.livemode)
        return _list_response(self, request, refund_list(payment=payment), refund_object)

    @extend_schema(
        operation_id="payment_refund",
        summary="Refund a payment",
        description=(
            "Gives all or part of a payment back to the vouchers it was paid with (the last "
            "voucher debited first) and reverses the platform's commission in proportion. "
            "Several partial refunds are allowed up to the amount paid; more is refused with "
            "`refund_exceeds_remaining`. Send an `Idempotency-Key` so a retry refunds once. "
            "Your endpoints receive `payment.refunded`."
        ),
        request=RefundCreateInput,
        responses={201: RefundOutput},
        tags=TAG,
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        payment = payment_get(public_id=payment_id, livemode=request.auth.livemode)
        data = RefundCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        refund = payment_refund(
            payment=payment,
            amount=data.validated_data.get("amount"),
            reason=data.validated_data.get("reason", ""),
            actor=None,
            api_key=request.auth.key,
            request=request,
            merchant=request.auth.merchant,
        )
        return Response(
            refund_object(refund, payment_id=payment.public_id), status=status.HTTP_201_CREATED
        )


class RefundDetailView(APIView):
    @extend_schema(
        operation_id="refund_retrieve",
        summary="Retrieve a refund",
        responses=RefundOutput,
        tags=TAG,
    )
    def get(self, request: Request, refund_id: str) -> Response:
        return Response(
            refund_object(refund_get(public_id=refund_id, livemode=request.auth.livemode))
        )
