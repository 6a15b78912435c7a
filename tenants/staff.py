"""Platform staff access: who is staff and in which console groups ("platform admin",
"finance"). Granted by superusers in the admin console; every change is audited."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest

from tenants.audit import AuditAction, audit_record
from tenants.models import User

STAFF_GROUPS = ("platform admin", "finance")


def staff_access_snapshot(user: User) -> dict:
    return {
        "is_staff": user.is_staff,
        "is_active": user.is_active,
        "groups": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
    }


@transaction.atomic
def staff_access_set(
    *,
    user: User,
    is_staff: bool,
    is_active: bool,
    groups: list[Group],
    actor: User,
    request: HttpRequest | None = None,
) -> User:
    """Set the user's staff flag, active flag and groups; one audit row says what changed."""
    before = staff_access_snapshot(user)
    user.is_staff, user.is_active = is_staff, is_active
    user.save(update_fields=["is_staff", "is_active"])
    user.groups.set(groups)
    after = staff_access_snapshot(user)
    if after != before:
        audit_record(
            action=AuditAction.STAFF_ACCESS_CHANGED,
            actor=actor,
            request=request,
            target=user,
            details={
                "email": user.email,
                "from": before,
                "to": after,
                "groups_added": sorted(set(after["groups"]) - set(before["groups"])),
                "groups_removed": sorted(set(before["groups"]) - set(after["groups"])),
            },
        )
    return user
