"""Commission plans in the admin console: the default plan and per-merchant overrides.

Past terms are never edited: a new rate is a new plan with its own `effective_from`, and every
payment's commission entry keeps a snapshot of the plan it was charged under."""

from django.contrib import admin

from billing.models import CommissionPlan


class CurrencyFilter(admin.SimpleListFilter):
    """Currencies in use, the empty one (a plan for every currency) named, so no filter link is
    left without text."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        currencies = CommissionPlan.objects.order_by("currency").values_list("currency", flat=True)
        return [(code, code or "Every currency") for code in dict.fromkeys(currencies)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(currency=self.value())


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
    list_filter = [CurrencyFilter, ("merchant", admin.EmptyFieldListFilter)]
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
