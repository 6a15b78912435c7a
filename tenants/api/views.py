"""GET /v1/account: the merchant and mode the request's key stands for."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Merchant


class AccountSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='Always "account".')
    id = serializers.CharField(source="merchant.slug", help_text="The merchant's slug.")
    name = serializers.CharField(source="merchant.name")
    country = serializers.CharField(source="merchant.country", help_text="ISO 3166-1 alpha-2.")
    default_currency = serializers.CharField(
        source="merchant.default_currency", help_text="ISO 4217."
    )
    status = serializers.ChoiceField(source="merchant.status", choices=Merchant.Status.choices)
    livemode = serializers.BooleanField(
        help_text="True for a live key, false for a test key: which objects the key sees."
    )


class AccountView(APIView):
    @extend_schema(
        operation_id="account_retrieve",
        summary="Retrieve the account",
        description="The merchant the API key belongs to, and whether the key is live.",
        responses=AccountSerializer,
        tags=["Account"],
    )
    def get(self, request: Request) -> Response:
        authenticated = request.auth
        return Response(
            AccountSerializer(
                {
                    "object": "account",
                    "merchant": authenticated.merchant,
                    "livemode": authenticated.livemode,
                }
            ).data
        )
