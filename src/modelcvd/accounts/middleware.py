"""The one place a session's user is decided: a session that owes a second factor is anonymous.

After django_otp's OTPMiddleware has loaded the session's user and the device that verified
it (if any), this middleware asks `twofactor.two_factor_pending`. When the session has passed
the password but still owes a code (staff, members of an organisation that requires one, or
anyone who enrolled), `request.user` becomes AnonymousUser for the rest of the request, for
every page and every API operation alike: views, access rules, templates and the API's
browser-session authentication all read `request.user`, so none of them can fall back to the
half-signed-in user. The user stays reachable only through `twofactor.session_user`, which the
code and enrolment pages use.

Web pages other than signing in and out and those two pages then send the session to the code
page (or to enrolment when no authenticator is set up yet) rather than answering as for the
public; the API answers as it answers anyone anonymous (401, or the public view). Doing this
here rather than in a decorator means a new view or operation is covered without anyone
remembering to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from modelcvd.accounts.twofactor import PENDING_USER_ATTR, totp_device_for, two_factor_pending

OPEN_VIEWS = frozenset(
    {
        "accounts:signin",
        "accounts:signout",
        "accounts:totp_verify",
        "accounts:totp_setup",
        # Pages for people not signed in; the session's user is anonymous there anyway.
        "accounts:signup",
        "accounts:signup_sent",
        "accounts:signup_verify",
        "accounts:password_reset",
        "accounts:password_reset_done",
        "accounts:password_reset_confirm",
        "accounts:password_reset_complete",
    }
)
API_APP = "ninja"  # the URL app name NinjaAPI mounts itself under


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if two_factor_pending(user):
            setattr(request, PENDING_USER_ATTR, user)
            request.user = AnonymousUser()

            async def anonymous_user() -> AnonymousUser:
                return AnonymousUser()

            request.auser = anonymous_user
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        pending = getattr(request, PENDING_USER_ATTR, None)
        match = request.resolver_match
        if pending is None or match is None:
            return None
        if match.view_name in OPEN_VIEWS or API_APP in match.app_names:
            return None
        route = "accounts:totp_verify" if totp_device_for(pending) else "accounts:totp_setup"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(route)}?{query}")
