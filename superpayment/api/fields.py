"""Strict serializer fields for every /v1 request: a value has the JSON type the document says.

DRF's own fields coerce: `"100"` and `100.0` pass an IntegerField, `12345` a CharField, `"true"`
a BooleanField. Here a wrong type is a 400 `parameter_invalid` naming the field, text refuses
control characters (PostgreSQL refuses NUL with a 500; the others hide in logs and exports) and
is never trimmed, numbers are bounded (no overflow reaches the database). Every constraint but
the control characters is also in the OpenAPI document (drf-spectacular reads the validators;
the extension below adds a range the service checks).
"""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.utils import html

from superpayment.text import has_control_characters

# Control characters are refused in code, not by a `pattern` in the document: a negated
# character class with a length range is one that test-data generators choke on.
CONTROL_CHARACTER_MESSAGE = "Control characters (NUL, newline, tab …) are not allowed."
TEXT_MAX_LENGTH = 500
# The integer columns are 32-bit unless a field says otherwise (amounts: up to 10**13).
INT_MIN, INT_MAX = -(2**31) + 1, 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63) + 1, 2**63 - 1


class _BlankIsAValue:
    """In a query string DRF reads `?status=` as no filter at all; here a blank value is a
    value, refused unless the field allows blanks."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class _StrictString:
    """A JSON string, as sent (not trimmed), without control characters, at most
    `max_length` (`default_max_length` unless given) characters."""

    default_max_length = TEXT_MAX_LENGTH

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.default_max_length)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if has_control_characters(data):
            raise serializers.ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")
        return super().to_internal_value(data)


class StrictCharField(_StrictString, _BlankIsAValue, serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}


class StrictURLField(_StrictString, serializers.URLField):
    default_error_messages = {"invalid": "Must be a URL string."}
    default_max_length = 2000


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not a string, a float (even `1000.0`) or a boolean; bounded (a 32-bit
    range unless the field gives its own).

    `service_range=(low, high)`: the values the service accepts, refused there with its own
    error code (`amount_invalid` …); the field documents that range and refuses only what
    would overflow (a 64-bit range)."""

    default_error_messages = {"invalid": "Must be an integer (a JSON number without a fraction)."}

    def __init__(self, *, service_range: tuple[int, int] | None = None, **kwargs: Any) -> None:
        self.service_range = service_range
        low, high = (INT64_MIN, INT64_MAX) if service_range else (INT_MIN, INT_MAX)
        kwargs.setdefault("min_value", low)
        kwargs.setdefault("max_value", high)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictIntegerFieldExtension(OpenApiSerializerFieldExtension):
    """Documents a service-checked range, which is narrower than the field's own bounds."""

    target_class = StrictIntegerField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if field.service_range:
            schema["minimum"], schema["maximum"] = field.service_range
        return schema


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(_BlankIsAValue, serializers.ChoiceField):
    """One of the listed strings (DRF's would also take `1` for "1")."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictDateTimeField(_BlankIsAValue, serializers.DateTimeField):
    """An ISO 8601 string; one whose UTC instant falls outside years 1 to 9999 is refused
    (DRF would raise OverflowError, a 500)."""

    def to_internal_value(self, data: Any) -> datetime.datetime:
        if not isinstance(data, str) or has_control_characters(data):
            self.fail("invalid", format="ISO 8601")
        try:
            value = super().to_internal_value(data)
            value.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            self.fail("invalid", format="ISO 8601")
        return value


class StrictObjectField(serializers.JSONField):
    """A JSON object (or null where allowed), its content checked by the service (e.g. a
    voucher's rules and metadata, with their own error codes). Document its shape with
    drf-spectacular's `extend_schema_field` on a subclass."""

    default_error_messages = {"invalid": "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            self.fail("invalid")
        return data
