"""Who may do what in a merchant's portal. Enforced server-side on every portal view; the README
shows the same matrix."""

from __future__ import annotations

from enum import StrEnum

from tenants.models import Role


class Perm(StrEnum):
    VIEW = "view"  # dashboard, vouchers, payments, events: read
    MANAGE_VOUCHERS = "manage_vouchers"  # create, import, adjust, disable
    REFUND = "refund"
    MANAGE_KEYS = "manage_keys"  # see, create, roll, revoke API keys
    MANAGE_WEBHOOKS = "manage_webhooks"
    VIEW_BILLING = "view_billing"  # commission invoices
    VIEW_AUDIT = "view_audit"
    MANAGE_TEAM = "manage_team"  # invite, change roles, remove members


PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(Perm) - {Perm.MANAGE_TEAM},
    Role.DEVELOPER: frozenset({Perm.VIEW, Perm.MANAGE_KEYS, Perm.MANAGE_WEBHOOKS}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}


def role_allows(role: str, perm: Perm) -> bool:
    return perm in PERMISSIONS.get(role, frozenset())
