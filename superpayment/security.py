"""Response headers for the platform's own pages.

- Content-Security-Policy comes from django-csp (settings.CONTENT_SECURITY_POLICY): scripts and
  styles from this origin only, inline scripts only with the request's nonce, no framing. Views
  with other needs say so with django-csp's decorators (the payment frame sets its own policy,
  which the middleware leaves alone).
- `NoStoreForSignedInMiddleware`: whatever answers a signed-in user (dashboard, account, finance,
  admin, a page showing a new secret key) is `Cache-Control: no-store`, so no browser or proxy
  cache keeps it for the next person at that machine. (Static files never get here: whitenoise
  answers them first.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A response that chose its own caching (the widget's script, the payment frame) keeps it;
        # checked first, so such a response never loads the session's user.
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # no-cache, no-store, must-revalidate, private, max-age=0 (and Expires in the past)
            add_never_cache_headers(response)
        return response
