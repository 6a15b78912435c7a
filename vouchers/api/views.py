"""The vouchers API (secret key): thin views that parse, call one service, and render.

Every POST honours `Idempotency-Key`. A key sees only the vouchers of its own mode: a test key
test vouchers, a live key live ones; another mode's or merchant's id answers 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from superpayment.api.fields import StrictCharField, StrictChoiceField, StrictDateTimeField
from superpayment.api.idempotency import idempotent
from superpayment.api.pagination import PAGE_PARAMETERS, ListPagination
from vouchers.api import serializers as s
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.jobs import voucher_job_create, voucher_job_get
from vouchers.models import Voucher
from vouchers.selectors import voucher_get, voucher_ledger_list, voucher_search
from vouchers.services import (
    UNSET,
    voucher_adjust,
    voucher_balance,
    voucher_issue,
    voucher_issue_bulk,
    voucher_update,
)
from vouchers.throttle import code_attempt_failed, code_attempts_check

# Bulk issues up to this many vouchers answer at once; larger ones run as a job.
BULK_SYNC_MAX = 1_000
TAG = ["Vouchers"]


class LedgerPagination(ListPagination):
    ordering = ("id",)


def _livemode(request: Request) -> bool:
    return request.auth.livemode


def _actor(request: Request) -> None:
    # A key is not a person: ledger entries made through the API carry no user id.
    return None


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _paginate(view: APIView, request: Request, queryset, serializer_class, paginator_class):
    paginator = paginator_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class _ListFilters(serializers.Serializer):
    """The list's query parameters: checked here, and documented from here."""

    status = StrictChoiceField(choices=Voucher.Status.values, required=False)
    currency = StrictCharField(min_length=3, max_length=3, required=False, help_text="ISO 4217.")
    last4 = StrictCharField(max_length=8, required=False, help_text="The code's last 4.")
    job = StrictCharField(max_length=32, required=False, help_text="Issued by this `vjob_…`.")

    def get_fields(self):
        fields = super().get_fields()
        fields["created[gte]"] = StrictDateTimeField(required=False, help_text="ISO 8601.")
        fields["created[lte]"] = StrictDateTimeField(required=False, help_text="ISO 8601.")
        return fields


class VoucherListCreateView(APIView):
    @extend_schema(
        operation_id="vouchers_list",
        summary="List vouchers",
        description="Newest first, cursor-paginated. Lists never carry the full code.",
        parameters=[_ListFilters, *PAGE_PARAMETERS],
        responses=s.VoucherListSerializer,
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        filters = _ListFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        vouchers = voucher_search(
            livemode=_livemode(request),
            status=data.get("status"),
            currency=data.get("currency"),
            created_gte=data.get("created[gte]"),
            created_lte=data.get("created[lte]"),
            last4=data.get("last4"),
            job_id=data.get("job"),
        )
        return _paginate(self, request, vouchers, s.VoucherSerializer, ListPagination)

    @extend_schema(
        operation_id="vouchers_create",
        summary="Create a voucher",
        description=(
            "Issues one voucher with a generated code (or your own `code`). The answer is the "
            "only one that carries the full code: store or hand it over now."
        ),
        request=s.VoucherCreateSerializer,
        responses={201: s.VoucherCreatedSerializer},
        tags=TAG,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(s.VoucherCreateSerializer, request)
        voucher = voucher_issue(livemode=_livemode(request), created_by=_actor(request), **data)
        return Response(s.VoucherCreatedSerializer(voucher).data, status=status.HTTP_201_CREATED)


class VoucherBulkCreateView(APIView):
    @extend_schema(
        operation_id="vouchers_bulk_create",
        summary="Create vouchers in bulk",
        description=(
            f"Issues `count` vouchers on the same terms. Up to {BULK_SYNC_MAX:,}: all at once "
            "(all or none), answered 201 with every voucher and its full code. More: answered "
            "202 with a `voucher_job`; poll `GET /v1/voucher_jobs/{id}` for progress and read "
            "the codes from `GET /v1/voucher_jobs/{id}/codes`."
        ),
        request=s.VoucherBulkCreateSerializer,
        responses={201: s.VoucherBulkResultSerializer, 202: s.VoucherJobSerializer},
        tags=TAG,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(s.VoucherBulkCreateSerializer, request)
        livemode = _livemode(request)
        if data["count"] > BULK_SYNC_MAX:
            job = voucher_job_create(livemode=livemode, created_by=_actor(request), **data)
            return Response(s.VoucherJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        vouchers = voucher_issue_bulk(livemode=livemode, created_by=_actor(request), **data)
        return Response(
            {"object": "list", "data": s.VoucherCreatedSerializer(vouchers, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class VoucherDetailView(APIView):
    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="Retrieve a voucher",
        responses=s.VoucherSerializer,
        tags=TAG,
    )
    def get(self, request: Request, voucher_id: str) -> Response:
        voucher = voucher_get(public_id=voucher_id, livemode=_livemode(request))
        return Response(s.VoucherSerializer(voucher).data)

    def _update(self, request: Request, voucher_id: str) -> Response:
        data = _valid(s.VoucherUpdateSerializer, request)
        voucher = voucher_update(
            voucher_id=voucher_id,
            livemode=_livemode(request),
            expires_at=data.get("expires_at", UNSET),
            status=data.get("status"),
            metadata=data.get("metadata"),
            actor=_actor(request),
        )
        return Response(s.VoucherSerializer(voucher).data)

    _update_schema = {
        "summary": "Update a voucher",
        "description": (
            "Change the expiry, disable or enable the voucher, or set metadata keys. Only the "
            "fields sent change. An expired voucher cannot change."
        ),
        "request": s.VoucherUpdateSerializer,
        "responses": s.VoucherSerializer,
        "tags": TAG,
    }

    @extend_schema(operation_id="vouchers_update", **_update_schema)
    @idempotent
    def post(self, request: Request, voucher_id: str) -> Response:
        return self._update(request, voucher_id)

    @extend_schema(operation_id="vouchers_partial_update", **_update_schema)
    @idempotent
    def patch(self, request: Request, voucher_id: str) -> Response:
        return self._update(request, voucher_id)


class VoucherAdjustView(APIView):
    @extend_schema(
        operation_id="vouchers_adjust",
        summary="Adjust a voucher's balance",
        description=(
            "A manual correction with a required reason, written to the voucher's ledger. "
            "The balance never goes below zero; a disabled or expired voucher cannot change."
        ),
        request=s.VoucherAdjustSerializer,
        responses=s.VoucherSerializer,
        tags=TAG,
    )
    @idempotent
    def post(self, request: Request, voucher_id: str) -> Response:
        data = _valid(s.VoucherAdjustSerializer, request)
        voucher = voucher_adjust(
            voucher_id=voucher_id,
            livemode=_livemode(request),
            amount=data["amount"],
            reason=data["reason"],
            actor=_actor(request),
        )
        return Response(s.VoucherSerializer(voucher).data)


class VoucherLedgerView(APIView):
    @extend_schema(
        operation_id="vouchers_ledger_list",
        summary="List a voucher's ledger entries",
        description="Every balance change, oldest first; the last `balance_after` is the balance.",
        parameters=PAGE_PARAMETERS,
        responses=s.LedgerEntryListSerializer,
        tags=TAG,
    )
    def get(self, request: Request, voucher_id: str) -> Response:
        voucher = voucher_get(public_id=voucher_id, livemode=_livemode(request))
        entries = voucher_ledger_list(voucher=voucher)
        return _paginate(self, request, entries, s.LedgerEntrySerializer, LedgerPagination)


class VoucherBalanceView(APIView):
    error_statuses = ("429", "503")  # code_attempts_exceeded; the limits' store unreachable

    @extend_schema(
        operation_id="vouchers_balance",
        summary="Check a balance by code",
        description=(
            "What a code may still pay. A code that does not exist, is disabled or expired, or "
            "is in another currency or mode answers the same 400 `voucher_not_redeemable`. "
            "Wrong codes are counted per key: past the limit every check answers 429 "
            "`code_attempts_exceeded` until the window ends."
        ),
        request=s.VoucherBalanceCheckSerializer,
        responses=s.VoucherBalanceSerializer,
        tags=TAG,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(s.VoucherBalanceCheckSerializer, request)
        scopes = {"key": str(request.auth.key.pk)}
        code_attempts_check(scopes=scopes)
        try:
            balance = voucher_balance(
                code=data["code"], currency=data.get("currency"), livemode=_livemode(request)
            )
        except VoucherError as exc:
            if exc.code == VoucherErrorCode.VOUCHER_NOT_REDEEMABLE:
                code_attempt_failed(scopes=scopes, livemode=_livemode(request))
            raise
        return Response(
            {
                "object": "voucher_balance",
                "code_last4": balance.code_last4,
                "balance": balance.balance,
                "currency": balance.currency,
                "expires_at": s.timestamp(balance.expires_at),
            }
        )


class VoucherJobDetailView(APIView):
    @extend_schema(
        operation_id="voucher_jobs_retrieve",
        summary="Retrieve a bulk issue job",
        description="Its status and progress (`issued_count` of `count`).",
        responses=s.VoucherJobSerializer,
        tags=TAG,
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = voucher_job_get(public_id=job_id, livemode=_livemode(request))
        return Response(s.VoucherJobSerializer(job).data)


class VoucherJobCodesView(APIView):
    @extend_schema(
        operation_id="voucher_jobs_codes_list",
        summary="List the codes a bulk issue job issued",
        description="Each voucher's id and full code, in issue order, cursor-paginated.",
        parameters=PAGE_PARAMETERS,
        responses=s.VoucherCodeListSerializer,
        tags=TAG,
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = voucher_job_get(public_id=job_id, livemode=_livemode(request))
        vouchers = voucher_search(livemode=job.livemode, job_id=job.public_id)
        return _paginate(self, request, vouchers, s.VoucherCodeSerializer, LedgerPagination)
