"""`Authorization: Bearer sk_…` (or Basic with the key as user name, as on Stripe) -> the key's
merchant, whose schema the request then runs in."""

from __future__ import annotations

import base64
import binascii

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.errors import ApiKeyError, ApiKeyErrorCode
from tenants.keys import AuthenticatedKey, api_key_authenticate
from tenants.models import ApiKey


class ApiKeyHolder:
    """`request.user` for a request made with an API key: the merchant's backend, not a person.
    `request.auth` is the AuthenticatedKey (merchant, mode, key)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __init__(self, authenticated: AuthenticatedKey):
        self.merchant = authenticated.merchant
        self.key = authenticated.key

    def __str__(self) -> str:
        return f"API key {self.key.masked} of {self.merchant.slug}"


def _malformed() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(
        "Malformed Authorization header: send `Authorization: Bearer sk_…` with your secret "
        "key (or HTTP Basic with the key as the user name and no password, `curl -u sk_…:`).",
        code=ApiKeyErrorCode.AUTHORIZATION_HEADER_INVALID.value,
    )


def _raw_key(header: bytes) -> str:
    """The key an Authorization header carries: `Bearer <key>`, or `Basic base64(<key>:)` as
    Stripe's clients and `curl -u sk_…:` send it (the password, if any, is ignored)."""
    parts = header.split()
    if len(parts) != 2:
        raise _malformed()
    scheme, credentials = parts[0].lower(), parts[1]
    if scheme == b"bearer":
        return credentials.decode("ascii", errors="replace")
    if scheme != b"basic":
        raise _malformed()
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise _malformed() from None
    user, _, _password = decoded.partition(":")
    if not user:
        raise _malformed()
    return user


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Secret keys only. A request with no Authorization header is left unauthenticated (the
    permission then answers 401); any key that is not valid, active and of an active merchant
    is refused with 401 and the error envelope."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyHolder, AuthenticatedKey] | None:
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        raw_key = _raw_key(header)
        try:
            authenticated = api_key_authenticate(raw_key, kind=ApiKey.Kind.SECRET)
        except ApiKeyError as exc:
            if exc.code == ApiKeyErrorCode.LIVE_MODE_NOT_ACTIVATED:
                # The key is genuine; the account may not use live mode yet: 403, not 401.
                raise exceptions.PermissionDenied(exc.message, code=exc.code.value) from None
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code.value) from None
        # PublicSchemaMiddleware puts the connection back on the public schema afterwards.
        connection.set_tenant(authenticated.merchant)
        return ApiKeyHolder(authenticated), authenticated

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_test_… / sk_live_…",
            "description": (
                "Your secret API key, from the dashboard's Developers page: "
                "`Authorization: Bearer sk_test_…` (HTTP Basic with the key as the user name "
                "and an empty password, `curl -u sk_test_…:`, works too). A test key works on "
                "test-mode objects only, a live key on live ones. Keep it on your server: never "
                "in a web page or an app."
            ),
        }
