"""Recording audit log rows. Call `audit_record` inside the transaction of the change it records,
so the row and the change commit, or roll back, together."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.db import models

from tenants.models import ActorType, AuditAction, AuditLog, Merchant, User

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["ActorType", "AuditAction", "audit_record", "client_ip"]

USER_AGENT_MAX_LENGTH = AuditLog._meta.get_field("user_agent").max_length
TARGET_ID_MAX_LENGTH = AuditLog._meta.get_field("target_id").max_length

Actor = User | ActorType | str | None
Target = models.Model | tuple[str, object] | None


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address of the request. There is no trusted-proxy setting, so forwarded headers
    (which any client can send) are ignored; put the proxy's own address rewriting in front
    (e.g. the load balancer's PROXY protocol) rather than trusting X-Forwarded-For here."""
    if request is None:
        return None
    address = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _actor_resolve(actor: Actor, request: HttpRequest | None) -> tuple[str, User | None, str]:
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False) and user.pk:
            actor = user
    if isinstance(actor, User):
        return ActorType.USER, actor, actor.email
    if actor is None:
        return ActorType.SYSTEM, None, ""
    return ActorType(actor), None, ""


def _target_resolve(target: Target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        target_type, target_id = target._meta.label_lower, target.pk
    else:
        target_type, target_id = target
    return str(target_type), str(target_id)[:TARGET_ID_MAX_LENGTH]


def audit_record(
    *,
    action: AuditAction | str,
    actor: Actor = None,
    merchant: Merchant | None = None,
    request: HttpRequest | None = None,
    target: Target = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row.

    `actor` is a user, or "system" / "stripe"; left out, it is the request's signed-in user, or
    "system" without one. `target` is a model instance or a `(type, id)` pair. The IP address and
    user agent come from `request` when given. Never put a secret in `details`.
    """
    actor_type, user, email = _actor_resolve(actor, request)
    target_type, target_id = _target_resolve(target)
    user_agent = ""
    if request is not None:
        user_agent = (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX_LENGTH]
    return AuditLog.objects.create(
        action=AuditAction(action),
        actor_type=actor_type,
        actor=user,
        actor_email=email,
        merchant=merchant,
        target_type=target_type,
        target_id=target_id,
        ip_address=client_ip(request),
        user_agent=user_agent,
        details=details or {},
    )
