"""Test-only API view behind `@idempotent`: counts its runs, and can fail or wait on request."""

from __future__ import annotations

import threading

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from superpayment.api.idempotency import idempotent
from tenants.errors import TenantError, TenantErrorCode

RUNS: list[dict] = []
ENTERED = threading.Event()
RELEASE = threading.Event()


class CountingView(APIView):
    @idempotent
    def post(self, request):
        RUNS.append(dict(request.data))
        if request.data.get("wait"):
            ENTERED.set()
            RELEASE.wait(timeout=30)
        if request.data.get("fail"):
            raise RuntimeError("boom")
        if request.data.get("invalid"):
            raise TenantError(TenantErrorCode.CURRENCY_INVALID, "Bad currency.", param="currency")
        return Response({"object": "thing", "run": len(RUNS), "echo": request.data}, status=201)


urlpatterns = [
    path("v1/test/things", CountingView.as_view()),
    path("v1/", include("superpayment.api_urls")),
]
