"""A user's signed-in sessions (allauth.usersessions keeps one row per session: device, IP
address, start and last activity), as the account's Sessions page lists and ends them.

Ending a session deletes it from the session store, so that browser is signed out at its next
request; each ending is in the audit log, in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from allauth.usersessions.internal.flows.sessions import end_sessions
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse

from tenants.audit import AuditAction, audit_record
from tenants.models import User

# A session's "last active" moves at most this often: one write a minute per active session,
# not one per request.
ACTIVITY_INTERVAL_SECONDS = 60
SEEN_SESSION_KEY = "superpayment.session_seen_at"


class SessionActivityMiddleware:
    """Record the signed-in session's device, IP address and last activity (allauth's
    `create_from_request`), at most once per `ACTIVITY_INTERVAL_SECONDS` per session. allauth's
    own middleware would write on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in and session is not None and session.session_key:
            now = int(time.time())
            if now - int(session.get(SEEN_SESSION_KEY, 0)) >= ACTIVITY_INTERVAL_SECONDS:
                session[SEEN_SESSION_KEY] = now
                UserSession.objects.create_from_request(request, user=user, session=session)
        return self.get_response(request)


@dataclass(frozen=True)
class SignedInSession:
    id: int
    device: str
    user_agent: str
    ip: str
    started_at: object
    last_active_at: object
    current: bool


@lru_cache(maxsize=512)
def device_describe(user_agent: str) -> str:
    """ "Chrome 140 on Linux", "Mobile Safari 17 on iOS (iPhone)" (ua-parser's rules)."""
    from ua_parser import parse

    if not user_agent:
        return "Unknown device"
    parsed = parse(user_agent)
    browser = parsed.user_agent
    name = "Unknown browser"
    if browser is not None and browser.family != "Other":
        name = browser.family + (f" {browser.major}" if browser.major else "")
    system = parsed.os
    if system is not None and system.family != "Other":
        name += f" on {system.family}"
    device = parsed.device
    if device is not None and device.family not in ("Other", "Spider") and device.brand:
        name += f" ({device.model or device.family})"
    return name


def user_session_list(*, user: User, current_key: str | None) -> list[SignedInSession]:
    """The user's live sessions, the current one first, then by last activity. Rows whose
    session has ended (expired, signed out) are dropped on the way (allauth's purge)."""
    sessions = UserSession.objects.purge_and_list(user)
    listed = [
        SignedInSession(
            id=session.pk,
            device=device_describe(session.user_agent),
            user_agent=session.user_agent,
            ip=session.ip,
            started_at=session.created_at,
            last_active_at=session.last_seen_at,
            current=session.session_key == current_key,
        )
        for session in sessions
    ]
    listed.sort(key=lambda session: (not session.current, -session.last_active_at.timestamp()))
    return listed


def _described(session: UserSession) -> dict:
    return {"ip": session.ip, "device": device_describe(session.user_agent)}


def user_session_end(*, request: HttpRequest, user: User, session_id: int) -> bool:
    """Sign one of the user's sessions out; True when it was the current one (then this
    request is signed out too). Another user's session, or one already gone, answers 404."""
    with transaction.atomic():
        session = UserSession.objects.select_for_update().filter(user=user, pk=session_id).first()
        if session is None:
            raise Http404("No such session")
        current = session.session_key == request.session.session_key
        audit_record(
            action=AuditAction.USER_SESSION_ENDED,
            actor=user,
            request=request,
            target=("usersession", session.pk),
            details={**_described(session), "current": current},
        )
        end_sessions(request, [session])
    return current


def user_sessions_end_others(*, request: HttpRequest, user: User) -> int:
    """Sign out every session of the user but this one; how many were ended."""
    with transaction.atomic():
        others = list(
            UserSession.objects.select_for_update()
            .filter(user=user)
            .exclude(session_key=request.session.session_key)
            .order_by("pk")
        )
        if not others:
            return 0
        audit_record(
            action=AuditAction.USER_SESSIONS_ENDED,
            actor=user,
            request=request,
            details={"count": len(others), "sessions": [_described(s) for s in others]},
        )
        end_sessions(request, others)
    return len(others)
