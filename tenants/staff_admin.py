"""The admin console's Staff users page: superusers grant the staff flag and console groups
(platform admin, finance) to existing accounts; platform admins can look. Changes go through
`tenants.staff.staff_access_set`, so each is audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group

from superpayment.admin_site import is_mfa_enabled
from tenants.models import StaffUser, User
from tenants.staff import STAFF_GROUPS, staff_access_set


class StaffAccessForm(forms.ModelForm):
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.filter(name__in=STAFF_GROUPS).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Platform admin: the admin console. Finance: the finance console (two factors "
        "required for both).",
    )

    class Meta:
        model = StaffUser
        fields = ["is_staff", "is_active", "groups"]


@admin.register(StaffUser)
class StaffUserAdmin(admin.ModelAdmin):
    form = StaffAccessForm
    list_display = ["email", "is_staff", "console_groups", "two_factor", "is_active", "last_login"]
    list_filter = ["is_staff", "groups", "is_active"]
    search_fields = ["email"]
    readonly_fields = ["email", "is_superuser", "two_factor", "last_login", "date_joined"]
    fields = readonly_fields[:3] + ["is_staff", "is_active", "groups"] + readonly_fields[3:]
    ordering = ["-is_staff", "email"]

    @admin.display(description="groups")
    def console_groups(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all()) or "—"

    @admin.display(description="two factors", boolean=True)
    def two_factor(self, user: User) -> bool:
        return is_mfa_enabled(user)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def has_add_permission(self, request) -> bool:
        return False  # people sign up first; a superuser then grants access here

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser or request.user.has_perm("tenants.view_user")

    def save_model(self, request, obj, form, change) -> None:
        pass  # saved with its groups, audited, in save_related

    def save_related(self, request, form, formsets, change) -> None:
        data = form.cleaned_data
        staff_access_set(
            user=User.objects.get(pk=form.instance.pk),
            is_staff=data["is_staff"],
            is_active=data["is_active"],
            groups=list(data["groups"]),
            actor=request.user,
            request=request,
        )
