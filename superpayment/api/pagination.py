"""Cursor pagination: stable under inserts, and no COUNT(*) over a merchant's whole table."""

from __future__ import annotations

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Newest first by default; a view sets `ordering` to an indexed, unique-enough field."""

    ordering = ("-created_at", "-id")
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100
