"""The account's Sessions page: where the user is signed in, with "Sign out" per session and
"Sign out everywhere else" (tenants/sessions.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.sessions import user_session_end, user_session_list, user_sessions_end_others


@login_required
@require_GET
def sessions_page(request: HttpRequest) -> HttpResponse:
    sessions = user_session_list(user=request.user, current_key=request.session.session_key)
    return render(request, "account/sessions.html", {"sessions": sessions})


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    if user_session_end(request=request, user=request.user, session_id=session_id):
        return redirect("account_login")  # this browser's own session: signed out here too
    messages.success(request, "That session is signed out.")
    return redirect("usersessions_list")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = user_sessions_end_others(request=request, user=request.user)
    if ended:
        messages.success(request, f"Signed out of {ended} other session{'s' if ended > 1 else ''}.")
    else:
        messages.info(request, "You are signed in nowhere else.")
    return redirect("usersessions_list")
