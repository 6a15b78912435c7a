"""Request and response shapes of the vouchers API (they also document it in OpenAPI)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from superpayment.api.fields import (
    StrictCharField,
    StrictChoiceField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictObjectField,
)
from superpayment.api.pagination import page_of
from vouchers.codes import DEFAULT_RANDOM_LENGTH, MAX_RANDOM_LENGTH, MIN_RANDOM_LENGTH, code_format
from vouchers.issuing import BULK_MAX_COUNT
from vouchers.job_models import VoucherJob
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.representation import timestamp, voucher_api_object
from vouchers.rules import (
    METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX_LENGTH,
    UNLIMITED_REDEMPTIONS,
)
from vouchers.validation import MAX_AMOUNT, REASON_MAX_LENGTH

__all__ = ["timestamp"]

# What a merchant may set a voucher's status to: disable it, or enable it again.
STATUS_CHANGES = [Voucher.Status.ACTIVE.value, Voucher.Status.DISABLED.value]

# --- requests -----------------------------------------------------------------------------------
# Strict types at the edge (superpayment.api.fields): a wrong type is `parameter_invalid`; the
# ranges the services check keep their own codes (`amount_invalid`, `rules_invalid` …).

_TEXT = {"type": "string"}  # without control characters (refused in code, see fields.py)
RULES_SCHEMA = {
    "type": "object",
    "nullable": True,
    "additionalProperties": False,
    "properties": {
        "min_order_amount": {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT},
        "max_redemptions": {"type": "integer", "minimum": 1, "maximum": UNLIMITED_REDEMPTIONS},
        "single_use": {"type": "boolean"},
        "order_id_prefix": {**_TEXT, "minLength": 1, "maxLength": 64},
    },
}


def _metadata_schema(*, nullable_values: bool) -> dict:
    value = {**_TEXT, "maxLength": METADATA_VALUE_MAX_LENGTH}
    if nullable_values:
        value["nullable"] = True
    return {
        "type": "object",
        "maxProperties": METADATA_MAX_KEYS,
        "additionalProperties": value,
    }


@extend_schema_field(RULES_SCHEMA)
class RulesField(StrictObjectField):
    pass


@extend_schema_field({**_metadata_schema(nullable_values=False), "nullable": True})
class MetadataField(StrictObjectField):
    pass


@extend_schema_field(_metadata_schema(nullable_values=True))
class MetadataChangesField(StrictObjectField):
    pass


class _TermsSerializer(serializers.Serializer):
    currency = StrictCharField(min_length=3, max_length=3, help_text="ISO 4217, e.g. EUR.")
    amount = StrictIntegerField(
        service_range=(1, MAX_AMOUNT),
        help_text="Initial value in minor units (9900 = 99.00 EUR; JPY has no minor unit).",
    )
    valid_from = StrictDateTimeField(
        required=False, allow_null=True, help_text="Usable from this instant (ISO 8601)."
    )
    expires_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="Expires at this instant (ISO 8601)."
    )
    rules = RulesField(
        required=False,
        allow_null=True,
        help_text=(
            "Redemption rules: `min_order_amount` (int), `max_redemptions` (int ≥ 1), "
            "`single_use` (bool), `order_id_prefix` (text). Unknown keys are refused."
        ),
    )
    metadata = MetadataField(
        required=False,
        allow_null=True,
        help_text=(
            f"Up to {METADATA_MAX_KEYS} text keys (1 to {METADATA_KEY_MAX_LENGTH} characters) "
            f"with text values (≤ {METADATA_VALUE_MAX_LENGTH}), 8 KB in all; no control "
            "characters."
        ),
    )
    prefix = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=12,
        help_text="Letters or digits put before the random part of a generated code (≤ 12).",
    )
    length = StrictIntegerField(
        required=False,
        default=DEFAULT_RANDOM_LENGTH,
        service_range=(MIN_RANDOM_LENGTH, MAX_RANDOM_LENGTH),
        help_text="Random characters of a generated code: 13 (60 bits) to 32; default 16.",
    )


class VoucherCreateSerializer(_TermsSerializer):
    code = StrictCharField(
        required=False,
        max_length=100,
        help_text=(
            "Your own code (12 to 64 letters or digits; dashes and spaces ignored), e.g. when "
            "moving vouchers from another system. Omit it to have a code generated."
        ),
    )


class VoucherBulkCreateSerializer(_TermsSerializer):
    count = StrictIntegerField(
        service_range=(1, BULK_MAX_COUNT),
        help_text=(
            "How many vouchers, 1 to 100,000. Up to 1,000 are issued at once (201, with their "
            "codes); more are issued by a background job (202, a `voucher_job`)."
        ),
    )


class VoucherUpdateSerializer(serializers.Serializer):
    expires_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="New expiry; null removes it."
    )
    status = StrictChoiceField(
        required=False,
        choices=STATUS_CHANGES,
        help_text="`disabled` stops the voucher from paying; `active` enables it again.",
    )
    metadata = MetadataChangesField(
        required=False,
        help_text="Keys to set; a key set to an empty string or null is removed.",
    )


class VoucherAdjustSerializer(serializers.Serializer):
    amount = StrictIntegerField(
        service_range=(-MAX_AMOUNT, MAX_AMOUNT),
        help_text="Signed change in minor units: 500 adds 5.00, -500 takes 5.00 away.",
    )
    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why: kept in the voucher's ledger with the key that did it.",
    )


class VoucherBalanceCheckSerializer(serializers.Serializer):
    code = StrictCharField(max_length=100, help_text="The voucher code as typed.")
    currency = StrictCharField(
        min_length=3,
        max_length=3,
        required=False,
        help_text="Only a voucher in this currency answers.",
    )


# --- responses ----------------------------------------------------------------------------------


class VoucherSerializer(serializers.Serializer):
    """A voucher; its full code appears only in the answer that created it."""

    id = serializers.CharField(help_text="`vch_…`")
    object = serializers.CharField(help_text='Always "voucher".')
    code_last4 = serializers.CharField(help_text="The last 4 characters of the code.")
    currency = serializers.CharField()
    initial_amount = serializers.IntegerField(help_text="Minor units.")
    balance = serializers.IntegerField(help_text="Minor units still to spend.")
    status = serializers.ChoiceField(choices=Voucher.Status.choices)
    livemode = serializers.BooleanField()
    valid_from = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    rules = serializers.DictField()
    metadata = serializers.DictField(child=serializers.CharField())
    redemption_count = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="Raised on every change; webhook events carry it so stale ones can be dropped."
    )
    created = serializers.DateTimeField()

    def to_representation(self, instance: Voucher) -> dict:
        return voucher_api_object(instance)


class VoucherCreatedSerializer(VoucherSerializer):
    code = serializers.CharField(
        help_text="The full code, grouped for reading (`XXXX-XXXX-XXXX-XXXX`). Shown only here."
    )

    def to_representation(self, instance: Voucher) -> dict:
        return dict(voucher_api_object(instance), code=code_format(instance.code))


VoucherListSerializer = page_of(VoucherSerializer)


class VoucherBulkResultSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='Always "list".')
    data = VoucherCreatedSerializer(many=True)


class VoucherJobSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`vjob_…`")
    object = serializers.CharField(help_text='Always "voucher_job".')
    status = serializers.ChoiceField(choices=VoucherJob.Status.choices)
    count = serializers.IntegerField(help_text="Vouchers requested.")
    issued_count = serializers.IntegerField(help_text="Vouchers issued so far.")
    livemode = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, job: VoucherJob) -> dict:
        return {
            "id": job.public_id,
            "object": "voucher_job",
            "status": job.status,
            "count": job.count,
            "issued_count": job.issued_count,
            "livemode": job.livemode,
            "error": job.error or None,
            "created": timestamp(job.created_at),
            "started_at": timestamp(job.started_at),
            "finished_at": timestamp(job.finished_at),
        }


class VoucherCodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()

    def to_representation(self, voucher: Voucher) -> dict:
        return {"id": voucher.public_id, "code": code_format(voucher.code)}


VoucherCodeListSerializer = page_of(VoucherCodeSerializer)


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    object = serializers.CharField(help_text='Always "voucher_ledger_entry".')
    kind = serializers.ChoiceField(choices=VoucherLedgerEntry.Kind.choices)
    amount = serializers.IntegerField(help_text="Signed change in minor units.")
    balance_after = serializers.IntegerField()
    reason = serializers.CharField()
    reference = serializers.CharField(help_text="The payment it belongs to, if any.")
    order_id = serializers.CharField()
    created = serializers.DateTimeField()

    def to_representation(self, entry: VoucherLedgerEntry) -> dict:
        return {
            "id": entry.pk,
            "object": "voucher_ledger_entry",
            "kind": entry.kind,
            "amount": entry.amount,
            "balance_after": entry.balance_after,
            "reason": entry.reason,
            "reference": entry.reference,
            "order_id": entry.order_id,
            "created": timestamp(entry.created_at),
        }


LedgerEntryListSerializer = page_of(LedgerEntrySerializer)


class VoucherBalanceSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='Always "voucher_balance".')
    code_last4 = serializers.CharField()
    balance = serializers.IntegerField()
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
