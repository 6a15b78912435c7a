"""What a shop's page talks to: the widget script itself, and opening a checkout session.

/widget.js                 the loader, `Cache-Control: public, max-age=300` (a new build reaches
                           every page within five minutes)
/widget.<version>.js       one build, forever: `max-age=31536000, immutable`; pin it with the
                           SRI hash from /widget.json
/widget.json               the current version, its URL and its SRI integrity
POST /checkout/widget/sessions   the widget's click: a session for the tag's attributes

Every answer here may be read cross-origin: `Cross-Origin-Resource-Policy: cross-origin` and
CORS, so pages with COEP can load the script.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from checkout.http import bad_request, domain_error_response, json_body, text_field
from checkout.sessions import WidgetRequest, checkout_session_open_from_widget
from superpayment.errors import DomainError
from widget.assets import ServedBundle, widget_current, widget_version

LOADER_MAX_AGE = 300
WIDGET_FIELDS = (
    "api_key",
    "amount",
    "currency",
    "order_id",
    "session",
    "signature",
    "expires_at",
    "success_url",
    "cancel_url",
)
IMMUTABLE_MAX_AGE = 31_536_000


def _cross_origin(response: HttpResponse) -> HttpResponse:
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _script_response(request: HttpRequest, served: ServedBundle, cache_control: str):
    etag = f'"{served.bundle.version}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
        response = HttpResponse(
            served.gzipped if gzip_ok else served.code,
            content_type="text/javascript; charset=utf-8",
        )
        if gzip_ok:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = "Accept-Encoding"
    response["X-Widget-Version"] = served.bundle.version
    return _cross_origin(response)


@require_http_methods(["GET", "HEAD"])
def widget_loader(request: HttpRequest) -> HttpResponse:
    return _script_response(request, widget_current(), f"public, max-age={LOADER_MAX_AGE}")


@require_http_methods(["GET", "HEAD"])
def widget_versioned(request: HttpRequest, version: str) -> HttpResponse:
    served = widget_version(version)
    if served is None:
        raise Http404("No such widget version.")
    return _script_response(request, served, f"public, max-age={IMMUTABLE_MAX_AGE}, immutable")


def widget_manifest_data(base_url: str | None = None) -> dict:
    bundle = widget_current().bundle
    base = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
    return {
        "version": bundle.version,
        "loader_url": f"{base}/widget.js",
        "url": f"{base}/widget.{bundle.version}.js",
        "integrity": bundle.integrity,
        "gzip_bytes": bundle.gzip_bytes,
    }


@require_http_methods(["GET", "HEAD"])
def widget_manifest(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(widget_manifest_data())
    response["Cache-Control"] = f"public, max-age={LOADER_MAX_AGE}"
    return _cross_origin(response)


def _cors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """The page may read every answer (errors included, so the widget can show them); whether
    its origin may open a session is decided by the key's allowed origins, not by CORS."""
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def frame_url(request: HttpRequest, *, merchant_slug: str, session_id: str) -> str:
    path = reverse("checkout_frame", kwargs={"slug": merchant_slug, "session_id": session_id})
    return request.build_absolute_uri(path)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def widget_session_open(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return _cors(response, request)
    try:
        data = json_body(request)
        if data is None:
            return _cors(bad_request("Send a JSON object."), request)
        # Every attribute is a string as widget.js sends it: no other type, no control
        # characters, no silent truncation.
        fields = {name: text_field(data, name, max_length=2000) for name in WIDGET_FIELDS}
        session = checkout_session_open_from_widget(
            request=WidgetRequest(origin=request.headers.get("Origin", ""), **fields)
        )
    except DomainError as exc:
        return _cors(domain_error_response(exc), request)
    response = JsonResponse(
        {
            "id": session.public_id,
            "object": "checkout.session",
            "livemode": session.livemode,
            "amount": session.amount,
            "currency": session.currency,
            "order_id": session.order_id,
            "expires_at": session.expires_at.isoformat().replace("+00:00", "Z"),
            "success_url": session.success_url or None,
            "cancel_url": session.cancel_url or None,
            "frame_url": frame_url(
                request, merchant_slug=connection.tenant.slug, session_id=session.public_id
            ),
        },
        status=201,
    )
    return _cors(response, request)
