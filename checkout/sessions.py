"""Opening checkout sessions, three ways (weakest first):

1. from the page: publishable key + `data-amount`; the page's Origin must be one of the key's
   allowed origins; the amount is what the page said (the webhook carries it: compare it);
2. signed tag: as 1., plus `data-signature` over amount|currency|order_id|expires_at made with
   the secret key (checkout.signing) — an edited amount is refused;
3. server-created with the secret key (`POST /v1/checkout/sessions`); the page passes
   `data-session="cs_…"` and the amount is authoritative.

Which of them a merchant accepts is its setting per mode (`Merchant.pay_buttons_test/live`).
An order id that a signed tag or the merchant's server has opened belongs to those: no unsigned
tag may open it, and the unsigned sessions already open for it are closed (expired) then, so a
page that forged `{pk, amount: "0.01", order_id}` cannot pay the order first ("squatting").
Sessions of one order are opened one at a time (a transaction-scoped advisory lock).

And expiring them: open sessions past their expiry turn `expired`, their holds are released and
a `checkout.session.expired` event is written, in one transaction per batch.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from checkout.errors import CheckoutError, CheckoutErrorCode
from checkout.models import CheckoutSession, Payment
from checkout.objects import session_object
from checkout.signing import tag_verify
from duework.kinds import CHECKOUT_EXPIRY
from duework.services import due_work_schedule
from superpayment.money import MoneyError, amount_parse, currency_validate
from superpayment.text import has_control_characters
from tenants.errors import ApiKeyError
from tenants.keys import AuthenticatedKey, api_key_authenticate
from tenants.models import ApiKey, Merchant
from tenants.origins import origin_normalise
from tenants.selectors import merchant_active
from vouchers.holds import voucher_holds_purge_expired, voucher_holds_release
from webhooks.services import event_record

log = structlog.get_logger(__name__)

MAX_AMOUNT = 10**13
# Printable ASCII without spaces, matched whole: `$` would also match before a trailing newline.
ORDER_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")
UNIX_TIME_PATTERN = re.compile(r"[0-9]{1,10}")  # whole seconds up to the year 2286
MIN_TTL = datetime.timedelta(minutes=5)
MAX_TTL = datetime.timedelta(hours=24)
EXPIRY_BATCH_SIZE = 200


def session_ttl_default() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.CHECKOUT_SESSION_TTL_SECONDS)


def _amount_validate(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise CheckoutError(
            CheckoutErrorCode.AMOUNT_INVALID,
            f"The amount is a whole number of minor units from 1 to {MAX_AMOUNT}.",
            param="amount",
        )
    return amount


def _currency_validate(currency: str) -> str:
    try:
        return currency_validate(currency)
    except MoneyError as exc:
        raise CheckoutError(CheckoutErrorCode.CURRENCY_INVALID, str(exc), param="currency") from exc


def _order_id_validate(order_id: object) -> str:
    if not isinstance(order_id, str) or not ORDER_ID_PATTERN.fullmatch(order_id):
        raise CheckoutError(
            CheckoutErrorCode.ORDER_ID_INVALID,
            "The order id is 1 to 64 printable characters without spaces.",
            param="order_id",
        )
    return order_id


def _url_validate(url: object, *, param: str) -> str:
    if url in (None, ""):
        return ""
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(url) > 2000
        or any(char.isspace() for char in url)
        or has_control_characters(url)
    ):
        raise CheckoutError(
            CheckoutErrorCode.URL_INVALID, f"{param} must be an http(s) URL.", param=param
        )
    return url


def _ttl_validate(expires_in: object) -> datetime.timedelta:
    if expires_in is None:
        return session_ttl_default()
    low, high = int(MIN_TTL.total_seconds()), int(MAX_TTL.total_seconds())
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or not low <= expires_in <= high
    ):
        raise CheckoutError(
            CheckoutErrorCode.EXPIRES_IN_INVALID,
            f"expires_in is a number of seconds from {low} (5 minutes) to {high} (24 hours).",
            param="expires_in",
        )
    return datetime.timedelta(seconds=expires_in)


def order_assert_unpaid(*, livemode: bool, order_id: str) -> None:
    # A payment refunded in full no longer holds its order id (payment_order_once).
    if Payment.objects.filter(livemode=livemode, order_id=order_id, fully_refunded=False).exists():
        raise CheckoutError(
            CheckoutErrorCode.ORDER_ALREADY_PAID,
            f"Order {order_id} is already paid.",
            param="order_id",
        )


SOURCE_NAMES = {
    CheckoutSession.Source.PAGE: "unsigned pay buttons (the one-line tag)",
    CheckoutSession.Source.SIGNED: "signed pay buttons",
    CheckoutSession.Source.SERVER: "checkout sessions created by its server",
}


def pay_button_assert_accepted(
    *, merchant: Merchant, livemode: bool, source: CheckoutSession.Source
) -> None:
    """Refuse a kind of pay button the merchant switched off for this mode (portal overview)."""
    if source not in merchant.pay_buttons(livemode=livemode):
        mode = "live" if livemode else "test"
        raise CheckoutError(
            CheckoutErrorCode.PAY_BUTTON_NOT_ACCEPTED,
            f"This shop does not accept {SOURCE_NAMES[source]} in {mode} mode.",
            param="signature" if source == CheckoutSession.Source.PAGE else "session",
        )


def _order_lock(*, livemode: bool, order_id: str) -> None:
    """Serialise the opening of one order's sessions until the transaction ends, so an unsigned
    session and a signed one cannot both pass their checks at once."""
    key = f"checkout_order:{connection.schema_name}:{int(livemode)}:{order_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _order_assert_unsigned_allowed(*, livemode: bool, order_id: str) -> None:
    claimed = CheckoutSession.objects.filter(
        livemode=livemode,
        order_id=order_id,
        source__in=[CheckoutSession.Source.SIGNED, CheckoutSession.Source.SERVER],
    )
    if claimed.exists():
        raise CheckoutError(
            CheckoutErrorCode.ORDER_REQUIRES_SIGNED_CHECKOUT,
            f"Order {order_id} is paid through a signed tag or a session created by the shop's "
            "server; an unsigned pay button cannot open it.",
            param="order_id",
        )


def _sessions_expire(sessions: list[CheckoutSession]) -> None:
    """Turn open, row-locked sessions `expired`: version raised, holds released, and a
    `checkout.session.expired` event each."""
    for session in sessions:
        session.status = CheckoutSession.Status.EXPIRED
        session.version += 1
        session.save(update_fields=["status", "version", "updated_at"])
        event_record(
            event_type="checkout.session.expired",
            data_object=session_object(session),
            livemode=session.livemode,
        )
    voucher_holds_release(holders=[session.public_id for session in sessions])


def _order_unsigned_sessions_close(*, livemode: bool, order_id: str) -> None:
    """A signed or server session claims the order: the unsigned ones still open for it expire.
    The row lock waits for a payment in progress on one of them; once it has committed, the
    order is paid and `order_assert_unpaid` refuses the new session."""
    unsigned = list(
        CheckoutSession.objects.select_for_update()
        .filter(
            livemode=livemode,
            order_id=order_id,
            source=CheckoutSession.Source.PAGE,
            status=CheckoutSession.Status.OPEN,
        )
        .order_by("pk")
    )
    if unsigned:
        _sessions_expire(unsigned)
        log.warning("checkout_unsigned_sessions_closed", order_id=order_id, count=len(unsigned))


@transaction.atomic
def checkout_session_create(
    *,
    livemode: bool,
    amount: int,
    currency: str,
    order_id: str,
    source: CheckoutSession.Source,
    expires_in: int | None = None,
    expires_at: datetime.datetime | None = None,
    success_url: str = "",
    cancel_url: str = "",
    origin: str = "",
    publishable_key_id: int | None = None,
    now: datetime.datetime | None = None,
    merchant: Merchant | None = None,
) -> CheckoutSession:
    """A new open session in the active merchant's schema (`merchant`'s; looked up when left
    out). Refused for a kind of pay button the merchant does not accept, for an order already
    paid, and, unsigned, for an order a signed tag or the server opened.
    Expires after `expires_in` seconds (default CHECKOUT_SESSION_TTL_SECONDS), or at
    `expires_at` if that is sooner (a signed tag's own expiry)."""
    now = now or timezone.now()
    order_id = _order_id_validate(order_id)
    session_expiry = now + _ttl_validate(expires_in)
    if expires_at is not None:
        session_expiry = min(session_expiry, expires_at)
    pay_button_assert_accepted(
        merchant=merchant or merchant_active(), livemode=livemode, source=source
    )
    _order_lock(livemode=livemode, order_id=order_id)
    if source == CheckoutSession.Source.PAGE:
        _order_assert_unsigned_allowed(livemode=livemode, order_id=order_id)
    else:
        _order_unsigned_sessions_close(livemode=livemode, order_id=order_id)
    order_assert_unpaid(livemode=livemode, order_id=order_id)
    session = CheckoutSession.objects.create(
        livemode=livemode,
        source=source,
        amount=_amount_validate(amount),
        currency=_currency_validate(currency),
        order_id=order_id,
        success_url=_url_validate(success_url, param="success_url"),
        cancel_url=_url_validate(cancel_url, param="cancel_url"),
        origin=origin,
        publishable_key_id=publishable_key_id,
        expires_at=session_expiry,
    )
    # Its expiry is due work: in the public index, in this transaction (beat finds it there).
    due_work_schedule([(CHECKOUT_EXPIRY, session_expiry)])
    log.info("checkout_session_created", session=session.public_id, source=source)
    return session


def checkout_session_get(*, public_id: str, livemode: bool) -> CheckoutSession:
    session = CheckoutSession.objects.filter(public_id=public_id, livemode=livemode).first()
    if session is None:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
        )
    return session


def session_assert_open(session: CheckoutSession, *, now: datetime.datetime) -> None:
    if session.status == CheckoutSession.Status.COMPLETED:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_COMPLETED, "This checkout is already paid.", param="session"
        )
    if session.status == CheckoutSession.Status.EXPIRED or session.expires_at <= now:
        raise CheckoutError(
            CheckoutErrorCode.SESSION_EXPIRED,
            "This checkout has expired; reload the page to start again.",
            param="session",
        )


# --- from the widget -------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetRequest:
    """What widget.js sends when the shopper clicks: the tag's data-* attributes."""

    api_key: str
    origin: str
    amount: str = ""
    currency: str = ""
    order_id: str = ""
    session: str = ""
    signature: str = ""
    expires_at: str = ""
    success_url: str = ""
    cancel_url: str = ""


def widget_key_authenticate(*, raw_key: str, origin: str) -> AuthenticatedKey:
    """The publishable key's merchant and mode, if the page's origin is one of the key's allowed
    origins. Activates the merchant's schema."""
    authenticated = api_key_authenticate(raw_key, kind=ApiKey.Kind.PUBLISHABLE)
    try:
        page_origin = origin_normalise(origin) if origin else ""
    except ApiKeyError:
        page_origin = ""
    if not page_origin or page_origin not in authenticated.key.allowed_origins:
        raise CheckoutError(
            CheckoutErrorCode.ORIGIN_NOT_ALLOWED,
            f"This page's origin ({origin or 'none'}) is not allowed for this publishable key. "
            "Add it to the key's allowed origins in the dashboard (Developers > API keys).",
            param="origin",
        )
    connection.set_tenant(authenticated.merchant)
    return authenticated


def _widget_amount(text: str, currency: str) -> int:
    try:
        return amount_parse(text, currency)
    except MoneyError as exc:
        raise CheckoutError(
            CheckoutErrorCode.AMOUNT_INVALID, f"data-amount: {exc}", param="amount"
        ) from exc


@transaction.atomic
def checkout_session_open_from_widget(
    *, request: WidgetRequest, now: datetime.datetime | None = None
) -> CheckoutSession:
    """Open (or, with data-session, attach to) a session for the widget on the shopper's page.
    Raises ApiKeyError for a bad key or suspended merchant, CheckoutError otherwise."""
    now = now or timezone.now()
    authenticated = widget_key_authenticate(raw_key=request.api_key, origin=request.origin)
    origin = origin_normalise(request.origin)
    livemode = authenticated.livemode
    if request.session:
        session = (
            CheckoutSession.objects.select_for_update()
            .filter(public_id=request.session, livemode=livemode)
            .first()
        )
        if session is None:
            raise CheckoutError(
                CheckoutErrorCode.SESSION_NOT_FOUND, "No such checkout session.", param="session"
            )
        session_assert_open(session, now=now)
        pay_button_assert_accepted(
            merchant=authenticated.merchant, livemode=livemode, source=session.source
        )
        if session.origin and session.origin != origin:
            raise CheckoutError(
                CheckoutErrorCode.ORIGIN_NOT_ALLOWED,
                "This checkout session was opened on another site.",
                param="session",
            )
        if not session.origin or session.publishable_key_id != authenticated.key.pk:
            session.origin = origin
            session.publishable_key_id = authenticated.key.pk
            session.save(update_fields=["origin", "publishable_key_id", "updated_at"])
        return session
    currency = _currency_validate(request.currency or authenticated.merchant.default_currency)
    amount = _amount_validate(_widget_amount(request.amount, currency))
    order_id = _order_id_validate(request.order_id)
    source, tag_expiry = CheckoutSession.Source.PAGE, None
    if request.signature:
        if not UNIX_TIME_PATTERN.fullmatch(request.expires_at):
            raise CheckoutError(
                CheckoutErrorCode.SIGNATURE_INVALID,
                "A signed tag needs data-expires-at (Unix seconds, digits only).",
                param="expires_at",
            )
        expires_at = int(request.expires_at)
        tag_verify(
            merchant=authenticated.merchant,
            livemode=livemode,
            signature=request.signature,
            amount=amount,
            currency=currency,
            order_id=order_id,
            expires_at=expires_at,
            now=now,
        )
        source = CheckoutSession.Source.SIGNED
        tag_expiry = datetime.datetime.fromtimestamp(expires_at, tz=datetime.UTC)
    return checkout_session_create(
        livemode=livemode,
        amount=amount,
        currency=currency,
        order_id=order_id,
        source=source,
        expires_at=tag_expiry,
        success_url=request.success_url,
        cancel_url=request.cancel_url,
        origin=origin,
        publishable_key_id=authenticated.key.pk,
        now=now,
        merchant=authenticated.merchant,
    )


# --- expiry ------------------------------------------------------------------------------------


def checkout_sessions_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every open session past its expiry: status, version, holds released, and a
    `checkout.session.expired` event, batch by batch. Rows another transaction holds (a payment
    in progress) are left for the next run; running it twice expires nothing twice."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                CheckoutSession.objects.select_for_update(skip_locked=True)
                .filter(status=CheckoutSession.Status.OPEN, expires_at__lte=now)
                .order_by("pk")[:EXPIRY_BATCH_SIZE]
            )
            _sessions_expire(due)
        expired += len(due)
        if len(due) < EXPIRY_BATCH_SIZE:
            break
    if expired:
        log.info("checkout_sessions_expired", count=expired)
    return expired


def checkout_expiry_run() -> int:
    """The active merchant's due checkout work (duework.kinds.CHECKOUT_EXPIRY): expire the
    sessions past their expiry, then purge expired holds. Returns the sessions expired."""
    expired = checkout_sessions_expire_due()
    voucher_holds_purge_expired()
    return expired
