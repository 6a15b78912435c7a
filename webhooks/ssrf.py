"""The SSRF guard: a webhook URL may only reach public addresses.

Checked at connect time, not only when the URL is saved: the host is resolved once, every
address it resolves to is checked, and the request then connects to the checked address itself
(webhooks.http), so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from webhooks.errors import WebhookError, WebhookErrorCode

CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 addresses that carry an IPv4 address a gateway or the host's stack may route to: NAT64
# (RFC 6052) and the deprecated IPv4-compatible form keep it in the low 32 bits; 6to4 and Teredo
# are read by ipaddress. The local-use NAT64 prefix (RFC 8215) may embed it anywhere: refused.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Labels of a numeric host: decimal digits or 0x-hex. A host made only of such labels that is not
# a canonical dotted quad is an integer, octal, hex or short IPv4 form (2130706433, 0x7f000001,
# 0177.0.0.1, 127.1): C resolvers read it as an address, so it is refused outright.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.I)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name as written (Host header, TLS SNI and certificate check)
    port: int
    path: str  # path + query
    address: str  # the checked IP address the connection goes to


def _canonical_ipv4(host: str) -> bool:
    """Four decimal octets without leading zeros (Python refuses every other form)."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False))


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (tests patch this to simulate DNS answers)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_refusal(address: str) -> str | None:
    """Why this address may not be reached, or None if it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT, "a shared (CGNAT) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    if isinstance(ip, ipaddress.IPv6Address):
        return _embedded_refusal(ip)
    return None


def _embedded_refusal(ip: ipaddress.IPv6Address) -> str | None:
    """Why an IPv6 address that embeds an IPv4 one may not be reached: the embedded address is
    checked as if it had been written itself."""
    if ip in NAT64_LOCAL:
        return "a local-use NAT64 address"
    kinds = [
        ("a 6to4", [ip.sixtofour] if ip.sixtofour else []),
        ("a Teredo", list(ip.teredo or ())),
        ("a NAT64", [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)] if ip in NAT64 else []),
        (
            "an IPv4-compatible",
            [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)] if ip in IPV4_COMPATIBLE else [],
        ),
    ]
    for kind, embedded in kinds:
        for ipv4 in embedded:
            reason = address_refusal(str(ipv4))
            if reason:
                return f"{kind} address embedding {reason} ({ipv4})"
    return None


def _refuse(message: str) -> WebhookError:
    return WebhookError(WebhookErrorCode.URL_REFUSED, message, param="url")


def url_parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a webhook URL, or WebhookError url_invalid."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError(
            WebhookErrorCode.URL_INVALID, "The URL is not valid.", param="url"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(
            WebhookErrorCode.URL_INVALID, "The URL must start with https://.", param="url"
        )
    if parts.username or parts.password:
        raise WebhookError(
            WebhookErrorCode.URL_INVALID, "The URL must not carry a user or password.", param="url"
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80), path


def url_check(url: str) -> None:
    """Checks that need no DNS, at save time: scheme and literal hosts."""
    scheme, host, _, _ = url_parse(url)
    if private_allowed():
        return
    if scheme != "https":
        raise _refuse("The URL must use https://.")
    _literal_check(host)


def _literal_check(host: str) -> None:
    if host == "localhost" or host.endswith(".localhost"):
        raise _refuse("The URL's host is this machine (localhost).")
    labels = host.rstrip(".").split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels) and not _canonical_ipv4(host):
        raise _refuse("The URL's host is a numeric address in a non-standard form.")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    reason = address_refusal(host.strip("[]"))
    if reason:
        raise _refuse(f"The URL's host is {reason}.")


class HostNotResolved(WebhookError):
    """The URL's host name has no address (a DNS failure, not a refusal by the guard)."""


def target_resolve(url: str) -> Target:
    """Resolve the URL's host once and pick an address the guard allows (connect time)."""
    scheme, host, port, path = url_parse(url)
    if not private_allowed():
        if scheme != "https":
            raise _refuse("The URL must use https://.")
        _literal_check(host)
    try:
        addresses = resolve(host.strip("[]"), port)
    except (OSError, UnicodeError) as exc:
        raise HostNotResolved(
            WebhookErrorCode.URL_INVALID, f"The URL's host does not resolve: {exc}", param="url"
        ) from None
    if not addresses:
        raise HostNotResolved(WebhookErrorCode.URL_INVALID, "The URL's host does not resolve.")
    if not private_allowed():
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise _refuse(f"The URL's host resolves to {reason} ({address}).")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
