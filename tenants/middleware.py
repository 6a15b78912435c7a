from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse


class PublicSchemaMiddleware:
    """Every request starts, and ends, in the public schema.

    Routing is by path (portal) or by API key (API, widget), not by host name, so there is no
    django-tenants host middleware: the view that resolves a merchant activates its schema, and
    this middleware makes sure a schema never outlives the request on a reused connection.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        connection.set_schema_to_public()
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()
