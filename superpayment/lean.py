"""A lean request for the payment frame's JSON endpoints.

The frame's POST endpoints (add or remove a voucher, confirm, release, forget) are called by the
platform's own payment page: they read no Django session, no signed-in user and no flash
message, and they are not CSRF-protected by a token but by their own checks (the request's
`Origin` must be the platform itself, and a confirm carries the session's confirm token; see
checkout.frame_views). So on those requests the middleware that serves the portal — the
portal's Content-Security-Policy, static files, sessions, common URL rewriting, CSRF,
authentication, messages, allauth, the signed-in session's activity — has nothing to do, yet
each costs its share of a payment's CPU (bench/checkout.py measures them).

In settings.MIDDLEWARE those sit between `LeanRequestStart` and `LeanRequestEnd`: a lean
request goes from the one straight to the other. (Their `process_view` hooks still run, as Django
calls them all around the view: CSRF's returns at once for these csrf_exempt views.) What every
request needs stays outside the pair: metrics, the request id in every log line, the public
schema, the JSON error envelope, the security headers, X-Frame-Options. A lean answer's
Content-Security-Policy is a fixed one that lets a JSON answer load nothing, set here: django-csp
builds its policy for every response, even one that has its own (120-160 µs a request).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

# The frame's POST endpoints (checkout/urls.py): /checkout/pay/<slug>/<session>/<action>.
LEAN_PATH = re.compile(
    r"^/checkout/pay/[^/]+/[^/]+/(?:vouchers|vouchers/[^/]+/remove|confirm|release|forget)$"
)

# Django builds the chain from the last middleware to the first, in one thread: LeanRequestEnd
# is built just before the group it closes, LeanRequestStart just after, and takes it from here.
_built = threading.local()

# A JSON answer loads nothing and is framed by nobody.
LEAN_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def lean_request(request: HttpRequest) -> bool:
    """Whether `request` is one of the frame's POSTs."""
    return request.method == "POST" and LEAN_PATH.match(request.path_info) is not None


class LeanRequestEnd:
    """Where a lean request rejoins the chain (the rest of it: XFrameOptions, metrics)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        _built.end = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class LeanRequestStart:
    """Sends a lean request past the middleware up to LeanRequestEnd."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.lean_response = getattr(_built, "end", None)
        if self.lean_response is None:
            raise ImproperlyConfigured("LeanRequestStart must come before LeanRequestEnd.")
        _built.end = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if lean_request(request):
            response = self.lean_response(request)
            response.headers.setdefault("Content-Security-Policy", LEAN_CSP)
            return response
        return self.get_response(request)
