"""Merchant teams: creating a business with its owner, invitations, roles, removal."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenants.audit import AuditAction, audit_record
from tenants.errors import TenantError, TenantErrorCode
from tenants.keys import api_key_create
from tenants.models import ApiKey, Invitation, Membership, Merchant, Role, User
from tenants.services import provision_merchant

INVITATION_SALT = "superpayment.invitation"
INVITATION_LIFETIME = datetime.timedelta(days=7)
# The invitation a signed-out visitor opened, joined once they sign up or in.
INVITATION_SESSION_KEY = "invitation_token"


@dataclass(frozen=True)
class BusinessCreated:
    merchant: Merchant
    created: bool
    # The test keys made with a new business: the secret in full, to be shown once.
    test_publishable_key: ApiKey | None = None
    test_secret_key: ApiKey | None = None
    test_secret: str | None = None


def business_create(
    *, owner: User, name: str, slug: str, country: str, default_currency: str, request=None
) -> BusinessCreated:
    """Provision a merchant, make `owner` its owner and give it a test publishable and secret
    key, in one transaction.

    A double submit by the same owner returns the business it already created; a slug that
    belongs to someone else is refused as taken."""
    if not owner.emailaddress_set.filter(verified=True).exists():
        raise TenantError(
            TenantErrorCode.EMAIL_NOT_VERIFIED,
            "Verify your email address before creating a business.",
        )
    with transaction.atomic():
        result = provision_merchant(
            slug=slug, name=name, country=country, default_currency=default_currency
        )
        merchant = result.merchant
        if not result.created:
            if Membership.objects.filter(merchant=merchant, user=owner, role=Role.OWNER).exists():
                return BusinessCreated(merchant, created=False)
            raise TenantError(
                TenantErrorCode.SLUG_TAKEN,
                f"The slug “{merchant.slug}” is already taken; choose another.",
                param="slug",
            )
        Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
        audit_record(
            action=AuditAction.MERCHANT_CREATED, actor=owner, merchant=merchant, request=request
        )
        # Test keys from the first minute, so the API and the widget can be tried at once.
        publishable, _ = api_key_create(
            merchant=merchant,
            kind=ApiKey.Kind.PUBLISHABLE,
            mode=ApiKey.Mode.TEST,
            name="Default",
            actor=owner,
            request=request,
        )
        secret_key, secret = api_key_create(
            merchant=merchant,
            kind=ApiKey.Kind.SECRET,
            mode=ApiKey.Mode.TEST,
            name="Default",
            actor=owner,
            request=request,
        )
    return BusinessCreated(
        merchant,
        created=True,
        test_publishable_key=publishable,
        test_secret_key=secret_key,
        test_secret=secret,
    )


@transaction.atomic
def demo_owner_ensure(*, merchant: Merchant, email: str, password: str) -> User:
    """Development data: a verified owner for the demo merchant, so `make run` can be explored."""
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email=email).first() or User.objects.create_user(email, password)
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    Membership.objects.get_or_create(merchant=merchant, user=user, defaults={"role": Role.OWNER})
    return user


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"invitation": invitation.pk}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


@transaction.atomic
def member_invite(
    *, merchant: Merchant, email: str, role: str, invited_by: User, request=None
) -> Invitation:
    email = User.objects.normalize_email(email).lower()
    if role not in Role.values:
        raise TenantError(TenantErrorCode.ROLE_INVALID, "Choose a valid role.", param="role")
    if Membership.objects.filter(merchant=merchant, user__email__iexact=email).exists():
        raise TenantError(
            TenantErrorCode.ALREADY_MEMBER, f"{email} is already a member.", param="email"
        )
    # A new invitation to the same address replaces the pending one.
    Invitation.objects.filter(
        merchant=merchant, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        merchant=merchant,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(
        action=AuditAction.MEMBER_INVITED,
        actor=invited_by,
        merchant=merchant,
        request=request,
        target=("invitation", invitation.pk),
        details={"email": email, "role": role},
    )
    context = {"invitation": invitation, "url": invitation_url(invitation)}
    transaction.on_commit(
        lambda: send_mail(
            subject=f"[SuperPayment] Join {merchant.name}",
            message=render_to_string("portal/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The pending invitation a link names; expired, used or revoked links are refused."""
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=INVITATION_LIFETIME.total_seconds()
        )
    except signing.BadSignature as exc:
        raise TenantError(
            TenantErrorCode.INVITATION_INVALID, "This invitation link is invalid or has expired."
        ) from exc
    invitation = (
        Invitation.objects.select_related("merchant").filter(pk=payload.get("invitation")).first()
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= timezone.now()
    ):
        raise TenantError(
            TenantErrorCode.INVITATION_INVALID,
            "This invitation link has already been used, was withdrawn, or has expired.",
        )
    return invitation


def invitation_accept(*, token: str, user: User, request=None) -> Membership:
    """Join through the link an invitation email carries."""
    invitation = invitation_from_token(token)
    return _invitation_join(invitation_id=invitation.pk, user=user, request=request)


@transaction.atomic
def _invitation_join(*, invitation_id: int, user: User, request=None) -> Membership:
    """`user` joins through the invitation, which must still be pending once locked (a
    concurrent accept or a revoke may have come first) and be to one of their verified
    addresses."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("merchant")
    invitation = invitation.get(pk=invitation_id)
    if invitation.accepted_at is not None:  # a concurrent accept won
        raise TenantError(TenantErrorCode.INVITATION_INVALID, "This invitation was already used.")
    if invitation.revoked_at is not None or invitation.expires_at <= timezone.now():
        raise TenantError(
            TenantErrorCode.INVITATION_INVALID, "This invitation was withdrawn or has expired."
        )
    verified = user.emailaddress_set.filter(email__iexact=invitation.email, verified=True)
    if not verified.exists():
        raise TenantError(
            TenantErrorCode.INVITATION_WRONG_USER,
            f"This invitation is for {invitation.email}. Sign in with that address "
            "(and verify it) to accept.",
        )
    membership, _ = Membership.objects.get_or_create(
        merchant=invitation.merchant, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        action=AuditAction.MEMBER_JOINED,
        actor=user,
        merchant=invitation.merchant,
        request=request,
        target=("membership", membership.pk),
        details={"role": membership.role},
    )
    return membership


def invitation_join_after_login(
    *, token: str | None, user: User, request=None
) -> Membership | None:
    """The invitation the user followed before signing up or in, accepted if its address is
    one of theirs and verified; None when there was none or it no longer applies (the user
    then lands where they would anyway, and can open the link again for the reason)."""
    if not token:
        return None
    try:
        return invitation_accept(token=token, user=user, request=request)
    except TenantError:
        return None


def invitations_accept_for_address(*, user: User, email: str, request=None) -> list[Membership]:
    """Every pending invitation to an address the user just verified: verifying proves the
    invitee reads that mailbox, which is all the invitation link itself proves."""
    pending = Invitation.objects.filter(
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("pk")
    joined = []
    for invitation_id in pending.values_list("pk", flat=True):
        try:
            joined.append(_invitation_join(invitation_id=invitation_id, user=user, request=request))
        except TenantError:  # accepted or withdrawn meanwhile
            continue
    return joined


def _lock_owners(merchant: Merchant) -> list[Membership]:
    return list(
        Membership.objects.select_for_update()
        .filter(merchant=merchant, role=Role.OWNER)
        .order_by("pk")
    )


@transaction.atomic
def member_change_role(
    *, merchant: Merchant, membership_id: int, role: str, actor: User, request=None
) -> Membership:
    if role not in Role.values:
        raise TenantError(TenantErrorCode.ROLE_INVALID, "Choose a valid role.", param="role")
    owners = _lock_owners(merchant)
    membership = Membership.objects.select_for_update().get(merchant=merchant, pk=membership_id)
    if membership.role == Role.OWNER and role != Role.OWNER and len(owners) == 1:
        raise TenantError(
            TenantErrorCode.LAST_OWNER,
            "The last owner cannot be demoted; make someone else owner first.",
        )
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action=AuditAction.MEMBER_ROLE_CHANGED,
        actor=actor,
        merchant=merchant,
        request=request,
        target=("membership", membership.pk),
        details={"email": membership.user.email, "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, merchant: Merchant, membership_id: int, actor: User, request=None) -> None:
    owners = _lock_owners(merchant)
    membership = Membership.objects.select_for_update().get(merchant=merchant, pk=membership_id)
    if membership.role == Role.OWNER and len(owners) == 1:
        raise TenantError(TenantErrorCode.LAST_OWNER, "The last owner cannot be removed.")
    email = membership.user.email
    membership.delete()
    audit_record(
        action=AuditAction.MEMBER_REMOVED,
        actor=actor,
        merchant=merchant,
        request=request,
        target=("membership", membership_id),
        details={"email": email},
    )


@transaction.atomic
def invitation_revoke(*, merchant: Merchant, invitation_id: int, actor: User, request=None) -> None:
    updated = Invitation.objects.filter(
        merchant=merchant, pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if updated:
        audit_record(
            action=AuditAction.INVITATION_REVOKED,
            actor=actor,
            merchant=merchant,
            request=request,
            target=("invitation", invitation_id),
        )
