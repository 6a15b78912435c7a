from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tenants.models import Membership
from tenants.permissions import PERMISSIONS


def portal(request: HttpRequest) -> dict:
    """The current member's permissions and, lazily, the merchants they can switch to."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "portal_perms": {str(perm) for perm in PERMISSIONS[membership.role]},
        "portal_memberships": SimpleLazyObject(
            lambda: list(
                Membership.objects.select_related("merchant")
                .filter(user=request.user, merchant__is_template=False)
                .order_by("merchant__name")
            )
        ),
    }
