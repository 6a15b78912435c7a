"""Checks on text that arrives from outside, shared by every edge that stores it."""

from __future__ import annotations

import unicodedata


def has_control_characters(text: str) -> bool:
    """True if `text` holds a C0/C1 control character (NUL, newline, tab, DEL, …) or a lone
    UTF-16 surrogate (JSON can carry "\\ud800"): such text is refused rather than stored
    (PostgreSQL refuses NUL and surrogates outright; the rest hide in logs and UIs)."""
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in text)
