"""Audit rows for account events that happen inside allauth and django.contrib.auth.

Signals are the only hook these libraries give; each receiver records one row and does nothing
else, so no business flow hides here."""

from __future__ import annotations

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from tenants.audit import ActorType, AuditAction, audit_record


@receiver(account_signals.user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record(action=AuditAction.USER_LOGIN, actor=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Only the address that was tried: never the password.
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit_record(
        action=AuditAction.USER_LOGIN_FAILED,
        actor=ActorType.SYSTEM,
        request=request,
        details={"email": attempted},
    )


MFA_ACTIONS = {
    mfa_signals.authenticator_added: AuditAction.USER_MFA_ENABLED,
    mfa_signals.authenticator_removed: AuditAction.USER_MFA_DISABLED,
}


@receiver(list(MFA_ACTIONS))
def audit_mfa_changed(sender, signal, request, user, authenticator, **kwargs) -> None:
    audit_record(
        action=MFA_ACTIONS[signal],
        actor=user,
        request=request,
        details={"type": authenticator.type},
    )


@receiver(account_signals.password_changed)
def audit_password_changed(sender, request, user, **kwargs) -> None:
    audit_record(action=AuditAction.USER_PASSWORD_CHANGED, actor=user, request=request)


@receiver(account_signals.password_reset)
def audit_password_reset(sender, request, user, **kwargs) -> None:
    audit_record(action=AuditAction.USER_PASSWORD_RESET, actor=user, request=request)


@receiver(account_signals.email_changed)
def audit_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit_record(
        action=AuditAction.USER_EMAIL_CHANGED,
        actor=user,
        request=request,
        details={
            "from": getattr(from_email_address, "email", ""),
            "to": getattr(to_email_address, "email", ""),
        },
    )
