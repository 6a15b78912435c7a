from django.contrib import admin

from tenants.models import Domain, Merchant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "default_currency", "status", "created_at"]
    list_filter = ["status", "country", "default_currency"]
    search_fields = ["name", "slug"]
    readonly_fields = ["schema_name", "slug", "created_at"]
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).merchants()
