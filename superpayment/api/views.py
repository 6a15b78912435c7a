"""API views not about one domain: the OpenAPI document, its docs page, and unknown paths."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document: public, like the docs page that reads it."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]


@method_decorator(csp_update({"style-src": [UNSAFE_INLINE]}), name="dispatch")
class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, served from this app's static files (drf-spectacular-sidecar): no CDN.
    (Not Redoc: drf-spectacular's Redoc page loads its fonts from Google.) The split view loads
    its start-up script from `?script`, so the page's Content-Security-Policy needs no inline
    script; Swagger UI's own inline styles are allowed on this page only."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    url_name = "api-schema"


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /v1/: the envelope, not an HTML page."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def _not_found(self, request: Request, *args, **kwargs):
        raise exceptions.NotFound(f"Unrecognised request URL ({request.method}: {request.path}).")

    get = post = put = patch = delete = options = head = _not_found
