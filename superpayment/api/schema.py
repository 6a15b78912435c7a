"""OpenAPI: the error envelope as a component, added to every operation's 4xx responses."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers

from superpayment.api.errors import ERROR_TYPES


class ErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ERROR_TYPES)
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a person to read.")
    param = serializers.CharField(
        allow_null=True, help_text="The first request parameter at fault, if any."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Every invalid parameter with its messages (empty if none concerns one).",
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: `error.errors` lists the fields at fault.",
    "401": "No API key, or an invalid, expired or revoked one, or a suspended merchant's.",
    "403": "The key may not perform this request.",
    "404": "No such object for this merchant and mode.",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    """Adds the error envelope to each operation for the errors it can answer."""

    def _error_statuses(self) -> list[str]:
        statuses = []
        if self.method in ("POST", "PUT", "PATCH") or self._get_filter_parameters():
            statuses.append("400")
        if any(
            not isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        ):
            statuses += ["401", "403"]
        if "{" in self.path:
            statuses.append("404")
        if self.view.get_throttles():
            statuses.append("429")
        return statuses

    def _get_response_bodies(self, direction="response"):
        # drf-spectacular has no public hook for responses shared by every operation;
        # this private one is covered by tests/superpayment/test_api_schema.py.
        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                response = self._get_response_for_code(
                    ErrorEnvelopeSerializer, code, direction=direction
                )
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses
