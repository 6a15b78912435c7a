"""Origins (`scheme://host[:port]`) as a browser sends them in the `Origin` header: where a
publishable key's widget may run."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from tenants.errors import ApiKeyError, ApiKeyErrorCode

ALLOWED_ORIGINS_MAX = 20
DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def origin_normalise(origin: str) -> str:
    """`HTTPS://Shop.Example:443/` -> `https://shop.example`: an origin as a browser sends it in
    the `Origin` header. Only http(s), no credentials, path, query or fragment."""
    text = (origin or "").strip()
    invalid = ApiKeyError(
        ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID,
        f"{origin!r} is not an origin: write scheme://host[:port], for example "
        "https://shop.example or http://localhost:8000, without a path.",
        param="allowed_origins",
    )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise invalid from None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or text.endswith(("?", "#"))
        or parts.username is not None
        or not parts.hostname
    ):
        raise invalid
    host = _host_normalise(parts.hostname)
    if host is None:
        raise invalid
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _host_normalise(hostname: str) -> str | None:
    host = hostname.lower()
    if ":" in host:  # IPv6, given in brackets (urlsplit removed them)
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    try:
        host = host.encode("idna").decode("ascii")  # bücher.example -> xn--bcher-kva.example
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(host) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def allowed_origins_validate(origins: Iterable[str]) -> list[str]:
    if isinstance(origins, str):
        origins = [origins]
    normalised: list[str] = []
    for origin in origins:
        clean = origin_normalise(origin)
        if clean not in normalised:
            normalised.append(clean)
    if len(normalised) > ALLOWED_ORIGINS_MAX:
        raise ApiKeyError(
            ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID,
            f"A key allows at most {ALLOWED_ORIGINS_MAX} origins.",
            param="allowed_origins",
        )
    return normalised
