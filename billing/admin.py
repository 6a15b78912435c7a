"""Commission plans in the admin console: the default plan and per-merchant overrides.

Past terms are never edited: a new rate is a new plan with its own `effective_from`, and every
payment's commission entry keeps a snapshot of the plan it was charged under."""

from django.contrib import admin

from billing.models import CommissionPlan


@admin.register(CommissionPlan)
class CommissionPlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "merchant",
        "currency",
        "bps",
        "fixed_fee",
        "effective_from",
        "effective_to",
    ]
    list_filter = ["currency", ("merchant", admin.EmptyFieldListFilter)]
    search_fields = ["name", "merchant__slug", "merchant__name"]
    autocomplete_fields = ["merchant"]
    ordering = ["merchant__slug", "currency", "-effective_from"]

    def get_readonly_fields(self, request, obj=None):
        # Terms already charged stay as they were; only the end date of a plan may change.
        if obj is not None:
            return ["name", "merchant", "currency", "bps", "fixed_fee", "effective_from"]
        return []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
