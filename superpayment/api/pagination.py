"""Cursor pagination: stable under inserts, and no COUNT(*) over a merchant's whole table."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response

PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100},
        description="Page size, 1 to 100 (25).",
    ),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the last page."),
]


# One page of a list, as ListPagination answers it. (A comment, not a docstring: the schema
# would show a docstring as every page's description.)
class PageSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"], help_text='Always "list".')
    data = serializers.ListField()
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass it as `cursor` for the next page; null on the last."
    )


_PAGES: dict[type, type[PageSerializer]] = {}


def page_of(item_serializer: type[serializers.Serializer]) -> type[PageSerializer]:
    """The page serializer of a list of `item_serializer` objects, for the OpenAPI document
    (component `<Item>List`); one class per item type, so the component is declared once."""
    if item_serializer not in _PAGES:
        name = item_serializer.__name__.removesuffix("Serializer").removesuffix("Output")
        _PAGES[item_serializer] = type(
            f"{name}ListSerializer",
            (PageSerializer,),
            {"data": item_serializer(many=True), "__module__": __name__},
        )
    return _PAGES[item_serializer]


class CursorPagination(pagination.CursorPagination):
    """Newest first by default; a view sets `ordering` to an indexed, unique-enough field."""

    ordering = ("-created_at", "-id")
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        # DRF falls back to the default for a limit it cannot read and clamps one too large;
        # the document says 1 to 100, so anything else is refused, naming `limit`.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request):
        """A cursor that is not one of ours is a bad parameter (400), not a missing page."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Invalid cursor: pass `next_cursor` of a page."]}
            ) from None


class ListPagination(CursorPagination):
    """Every API list: `{"object": "list", "data": [...], "has_more": bool, "next_cursor":
    str|null}`; pass `cursor=<next_cursor>` for the next page, `limit` (1 to 100) for its size."""

    def get_paginated_response(self, data: list) -> Response:
        next_link = self.get_next_link()
        cursor = parse_qs(urlsplit(next_link).query).get("cursor", [None])[0] if next_link else None
        return Response(
            {"object": "list", "data": data, "has_more": cursor is not None, "next_cursor": cursor}
        )
