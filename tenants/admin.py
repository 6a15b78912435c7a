from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from superpayment.templatetags import copy_html
from tenants.errors import TenantError
from tenants.forms import ReasonForm
from tenants.keys import api_key_revoke
from tenants.models import ApiKey, AuditLog, Domain, Membership, Merchant
from tenants.services import merchant_reactivate, merchant_suspend
from tenants.staff_admin import StaffUserAdmin  # noqa: F401 - registers the Staff users page


class DomainInline(admin.StackedInline):
    # Stacked, not tabular: each input gets its own <label> (a tabular row has only headers).
    model = Domain
    extra = 0


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = readonly_fields = ["user", "role", "created_at"]


class ReadOnlyAdminMixin:
    """Staff look, never add, change or delete: these rows are written through the services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyColumnsMixin:
    """A key as staff see it: masked, never its digest; its status by name."""

    @admin.display(description="key")
    def masked(self, key: ApiKey) -> str:
        return key.masked

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        return key.status.label


class ApiKeyInline(ApiKeyColumnsMixin, ReadOnlyInline):
    model = ApiKey
    fields = readonly_fields = ["name", "masked", "kind", "mode", "status", "last_used_at"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "default_currency", "status", "created_at"]
    list_filter = ["status", "country", "default_currency"]
    search_fields = ["name", "slug", "memberships__user__email"]
    fields = [
        "name",
        "slug_copy",
        "schema_copy",
        "country",
        "default_currency",
        "status",
        "created_at",
    ]
    readonly_fields = ["schema_copy", "slug_copy", "status", "created_at"]
    inlines = [MembershipInline, ApiKeyInline, DomainInline]
    change_form_template = "admin/tenants/merchant/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).merchants()

    @admin.display(description="slug")
    def slug_copy(self, merchant: Merchant) -> str:
        return copy_html(merchant.slug, "slug")

    @admin.display(description="schema name")
    def schema_copy(self, merchant: Merchant) -> str:
        return copy_html(merchant.schema_name, "schema name")

    def has_add_permission(self, request) -> bool:
        return False  # merchants sign up themselves; provisioning clones their schema

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        own = [
            path(
                "<int:merchant_id>/suspend/",
                self.admin_site.admin_view(self.status_view),
                {"suspend": True},
                name="tenants_merchant_suspend",
            ),
            path(
                "<int:merchant_id>/reactivate/",
                self.admin_site.admin_view(self.status_view),
                {"suspend": False},
                name="tenants_merchant_reactivate",
            ),
        ]
        return own + super().get_urls()

    def status_view(self, request, merchant_id: int, suspend: bool):
        """Suspend or reactivate, with a reason that goes into the audit log."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        merchant = get_object_or_404(self.get_queryset(request), pk=merchant_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            change = merchant_suspend if suspend else merchant_reactivate
            try:
                change(
                    merchant=merchant,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except TenantError as error:
                form.add_error("reason", error.message)
            else:
                verb = "suspended" if suspend else "reactivated"
                messages.success(request, f"{merchant.name} is {verb}.")
                return redirect("admin:tenants_merchant_change", merchant.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "merchant": merchant,
            "form": form,
            "suspend": suspend,
            "title": f"{'Suspend' if suspend else 'Reactivate'} {merchant.name}",
        }
        return TemplateResponse(request, "admin/tenants/merchant/status.html", context)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, ApiKeyColumnsMixin, admin.ModelAdmin):
    """Read-only: keys are made in the portal. The digest is never shown; revoking goes through
    the service so it is audited."""

    list_display = ["name", "merchant", "masked", "kind", "mode", "status", "created_at"]
    list_filter = ["mode", "kind", "merchant"]
    search_fields = ["name", "prefix", "merchant__slug"]
    fields = [
        "merchant",
        "name",
        "masked",
        "kind",
        "mode",
        "status",
        "allowed_origins",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "rolled_from",
    ]
    readonly_fields = fields
    list_select_related = ["merchant"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys now")
    def revoke(self, request, queryset) -> None:
        for key in queryset:
            api_key_revoke(key=key, actor=request.user, request=request)
        messages.success(request, f"{queryset.count()} key(s) revoked.")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_label", "merchant", "target", "ip_address"]
    list_filter = ["action", "actor_type"]
    search_fields = ["actor_email", "merchant__slug", "target_id"]
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]
    readonly_fields = ["target_copy"]

    @admin.display(description="target id")
    def target_copy(self, entry: AuditLog) -> str:
        return copy_html(entry.target_id, "target id") if entry.target_id else "-"
