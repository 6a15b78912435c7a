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
    "400": "The request is invalid: `error.param` names the first field at fault, "
    "`error.errors` lists them all.",
    "401": "No API key, or an invalid, expired or revoked one.",
    "403": "The key may not perform this request (e.g. `live_mode_not_activated`, "
    "`pay_button_not_accepted`), or its merchant is suspended.",
    "404": "No such object for this merchant and mode.",
    "409": "A conflict with the object's state (e.g. `order_already_paid`, `voucher_closed`), "
    "or `idempotency_key_in_use`: a request with this `Idempotency-Key` is still running.",
    "413": "The request body is too large.",
    "422": "`idempotency_key_reused`: this `Idempotency-Key` came with another request.",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
    "503": "`service_unavailable`: a service this request needs (the code-guessing limits' "
    "store) cannot be reached; retry after the `Retry-After` header's seconds.",
}
_WRITES = ("POST", "PUT", "PATCH")


class AutoSchema(SpectacularAutoSchema):
    """Adds the error envelope to each operation for the errors it can answer. A view adds
    statuses of its own with `error_statuses` (e.g. `("429",)` where codes are counted)."""

    def _error_statuses(self) -> list[str]:
        statuses = []
        if self.method in _WRITES or self._has_query_parameters():
            statuses.append("400")
        if any(
            not isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        ):
            statuses += ["401", "403"]
        if "{" in self.path:
            statuses.append("404")
        if self.method in _WRITES:
            statuses += ["409", "413", "422"]
        if self.view.get_throttles():
            statuses.append("429")
        statuses += getattr(self.view, "error_statuses", ())
        return sorted(set(statuses))

    def _has_query_parameters(self) -> bool:
        return any(
            parameter and parameter.get("in") == "query"
            for parameter in self._process_override_parameters(direction="request").values()
        ) or bool(self._get_filter_parameters())

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
