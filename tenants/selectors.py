from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from superpayment.prepared import model_columns, model_from_row, prepared_fetch_one
from tenants.models import Merchant

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tenants.models import ApiKey, AuditLog, User


def merchant_active(*, missing_ok: bool = False) -> Merchant | None:
    """The merchant whose schema the connection is in: the tenant django-tenants set (a request),
    else the one owning the active schema (`schema_context()` sets a stand-in tenant). None
    when `missing_ok` and no merchant owns it (the public schema)."""
    from django.db import connection

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Merchant):
        return tenant
    found = Merchant.objects.filter(schema_name=connection.schema_name).first()
    if found is None and not missing_ok:
        raise Merchant.DoesNotExist(f"No merchant owns schema {connection.schema_name!r}.")
    return found


def merchant_schema_names() -> list[str]:
    return list(Merchant.objects.merchants().values_list("schema_name", flat=True))


# Every payment-frame request starts here, so it runs prepared (superpayment.prepared).
_MERCHANT_BY_SLUG_SQL = f"""
SELECT {model_columns(Merchant, "m")}
  FROM {{public}}.{Merchant._meta.db_table} m
 WHERE m.slug = %(slug)s AND NOT m.is_template
"""  # noqa: S608 - table and column names from model meta; values are bound


def merchant_by_slug(slug: str) -> Merchant | None:
    """The merchant a public URL names (never the template schema's placeholder)."""
    row = prepared_fetch_one(_MERCHANT_BY_SLUG_SQL, {"slug": slug}, public_only=True)
    return model_from_row(Merchant, row) if row else None


@dataclass(frozen=True)
class ChecklistStep:
    title: str
    hint: str
    done: bool
    url: str = ""


@dataclass(frozen=True)
class OnboardingChecklist:
    livemode: bool
    steps: list[ChecklistStep]
    publishable_key: str
    widget_url: str


def onboarding_checklist(*, merchant: Merchant, livemode: bool = False) -> OnboardingChecklist:
    """What the merchant still has to do in one mode; only that mode's keys, vouchers, webhook
    endpoints and widget sessions tick its steps (a test endpoint never ticks the live list).
    The live list starts with activating live mode. The schema of `merchant` must be active."""
    from checkout.selectors import checkout_widget_used
    from tenants.models import ApiKey
    from vouchers.selectors import voucher_any_exists
    from webhooks.selectors import endpoint_list

    now = timezone.now()
    mode = ApiKey.Mode.LIVE if livemode else ApiKey.Mode.TEST
    keys = [
        key
        for key in ApiKey.objects.filter(merchant=merchant, mode=mode).order_by("-created_at")
        if key.status_at(now) == ApiKey.Status.ACTIVE
    ]
    publishable = next((key for key in keys if key.kind == ApiKey.Kind.PUBLISHABLE), None)
    slug = {"slug": merchant.slug}
    word = "live" if livemode else "test"
    steps = [
        ChecklistStep(
            f"Create {word} API keys",
            "A publishable key for the widget, a secret key for your backend.",
            done=bool(keys),
            url=reverse("portal:keys", kwargs=slug),
        ),
        ChecklistStep(
            f"Add {word} vouchers",
            "Issue vouchers through the API or import them.",
            done=voucher_any_exists(livemode=livemode),
        ),
        ChecklistStep(
            f"Add a {word} webhook endpoint",
            "Your backend marks orders paid when the signed webhook arrives.",
            done=endpoint_list(livemode=livemode).filter(enabled=True).exists(),
            url=reverse("portal:webhooks", kwargs=slug),
        ),
        ChecklistStep(
            "Embed the widget",
            f"Paste the snippet below, with your {word} publishable key, into your checkout page.",
            done=checkout_widget_used(livemode=livemode),
        ),
    ]
    if livemode:
        steps.insert(
            0,
            ChecklistStep(
                "Activate live mode",
                "Business details, a live webhook endpoint and the terms: then live keys work.",
                done=merchant.live_activated,
                url=reverse("portal:live_activation", kwargs=slug),
            ),
        )
    return OnboardingChecklist(
        livemode=livemode,
        steps=steps,
        publishable_key=publishable.publishable_key if publishable else "",
        widget_url=settings.PUBLIC_BASE_URL.rstrip("/") + "/widget.js",
    )


def audit_list(
    *,
    merchant: Merchant | None,
    actions: Iterable[str] | None = None,
    actor: User | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditLog]:
    """A merchant's audit trail, newest first (merchant=None: platform-level rows only).
    Uses the (merchant, -created_at) index; slice it or paginate it."""
    from tenants.models import AuditLog

    entries = AuditLog.objects.filter(merchant=merchant).select_related("actor")
    if actions is not None:
        entries = entries.filter(action__in=list(actions))
    if actor is not None:
        entries = entries.filter(actor=actor)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries.order_by("-created_at", "-id")


def api_key_list(
    *, merchant: Merchant, mode: str | None = None, include_revoked: bool = True
) -> QuerySet[ApiKey]:
    """A merchant's API keys, live before test, publishable before secret, newest first."""
    from tenants.models import ApiKey

    key_list = ApiKey.objects.filter(merchant=merchant)
    if mode is not None:
        key_list = key_list.filter(mode=mode)
    if not include_revoked:
        key_list = key_list.filter(revoked_at__isnull=True)
    return key_list.order_by("mode", "kind", "-created_at", "-id")
