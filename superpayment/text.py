"""Checks on text that arrives from outside, shared by every edge that stores it."""

from __future__ import annotations

import unicodedata


def has_control_characters(text: str) -> bool:
    """True if `text` holds a C0/C1 control character (NUL, newline, tab, DEL, …): such text is
    refused rather than stored (PostgreSQL refuses NUL outright; the rest hide in logs and UIs)."""
    return any(unicodedata.category(char) == "Cc" for char in text)
