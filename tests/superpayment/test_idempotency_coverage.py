"""Every POST (and PATCH) of the merchant API honours `Idempotency-Key`."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from superpayment.api.views import NotFoundView


def api_views(patterns=None, prefix: str = "") -> list[tuple[str, type]]:
    found = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("v1/"):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and view_class is not NotFoundView:
                found.append((route, view_class))
    return found


def test_every_api_post_and_patch_honours_the_idempotency_key():
    views = api_views()
    writes = [
        (route, method)
        for route, view_class in views
        for method in ("post", "patch")
        if hasattr(view_class, method)
    ]
    missing = [
        f"{method.upper()} /{route}"
        for route, view_class in views
        for method in ("post", "patch")
        if hasattr(view_class, method)
        and not getattr(getattr(view_class, method), "honours_idempotency_key", False)
    ]

    assert len(writes) >= 10  # the walk found the API's writes
    assert missing == []
