"""Default-deny second factor for the web UI.

A signed-in user whose session still owes a TOTP code (`twofactor.two_factor_pending`: staff,
or anyone who enrolled) is sent to the code page, or to enrolment when they have no device,
from every web view except signing in and out and those two pages. Doing this here rather than
in a decorator means a new view is covered without anyone remembering to.

The API is left to its own authentication: bearer tokens are a separate credential, and the
browser-session auth (`accounts.auth.BrowserSession`) refuses an unverified session itself.
Must come after django_otp's OTPMiddleware, which sets `request.user.is_verified()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import user_has_device

from modelcvd.accounts.twofactor import two_factor_pending

OPEN_VIEWS = frozenset(
    {"accounts:signin", "accounts:signout", "accounts:totp_verify", "accounts:totp_setup"}
)
API_APP = "ninja"  # the URL app name NinjaAPI mounts itself under


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.view_name in OPEN_VIEWS or API_APP in match.app_names:
            return None
        if not two_factor_pending(request.user):
            return None
        route = "accounts:totp_verify" if user_has_device(request.user) else "accounts:totp_setup"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(route)}?{query}")
