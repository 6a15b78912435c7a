"""Test-only API views that raise each kind of error (the product has no endpoint yet that takes
a request body); used with @pytest.mark.urls. The real /v1/ routes are mounted too."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from superpayment.errors import DomainError
from tenants.errors import TenantError, TenantErrorCode


class ItemSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1)


class OrderSerializer(serializers.Serializer):
    order_id = serializers.CharField(max_length=8)
    currency = serializers.CharField(max_length=3)
    items = ItemSerializer(many=True)


class ValidateView(APIView):
    def post(self, request):
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class DomainErrorView(APIView):
    def post(self, request):
        code = request.data.get("code")
        if code == "merchant_not_found":
            raise TenantError(TenantErrorCode.MERCHANT_NOT_FOUND, "No such merchant.")
        raise TenantError(
            TenantErrorCode.CURRENCY_INVALID, "'EURO' is not a currency.", param="currency"
        )


class ThrottledView(APIView):
    def get(self, request):
        raise exceptions.Throttled(wait=30)


class ForbiddenView(APIView):
    def get(self, request):
        raise exceptions.PermissionDenied()


class BrokenView(APIView):
    def get(self, request):
        secret = "internal-detail-7f3a"
        raise RuntimeError(f"database password is {secret}")


assert issubclass(TenantError, DomainError)

urlpatterns = [
    path("v1/test/validate", ValidateView.as_view()),
    path("v1/test/domain-error", DomainErrorView.as_view()),
    path("v1/test/throttled", ThrottledView.as_view()),
    path("v1/test/forbidden", ForbiddenView.as_view()),
    path("v1/test/broken", BrokenView.as_view()),
    path("v1/", include("superpayment.api_urls")),
]
