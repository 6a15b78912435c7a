"""Errors are data: each app declares its codes and raises one exception type carrying a code,
a message fit for a person, and the input field it concerns. The API turns it into the JSON
error envelope, the portal into a form error."""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    """Base of every app's error; `code` is a member of that app's error-code enum."""

    error_type = "invalid_request_error"

    def __init__(self, code: StrEnum, message: str, *, param: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r}, param={self.param!r})"


def violated_constraint(exc: Exception) -> str:
    """The name of the constraint a database error (Django's IntegrityError, caused by psycopg's)
    reports, or "" when it names none."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""
