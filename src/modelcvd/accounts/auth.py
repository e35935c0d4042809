"""API authentication: bearer tokens for scripts, the session (with CSRF) for the browser.

The browser session is whatever `request.user` is, and nothing else: a session that owes a
second factor has already been made anonymous by accounts.middleware.SecondFactorMiddleware,
the one place that decides it (so pages and operations cannot disagree). Bearer tokens are a
credential of their own and need no code.

Either way `request.auth` is the User and `request.scopes` the scopes this request may use:
a token's own scopes, or every scope for a signed-in browser session. What a token may call is
each operation's declaration, checked here as soon as the token is found (accounts/scopes.py).
Operations open to the public use OPTIONAL_AUTH, whose last resort is the anonymous caller,
never the session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from modelcvd.accounts.models import TokenScope, User
from modelcvd.accounts.scopes import token_scope_check
from modelcvd.accounts.selectors import token_for_secret
from modelcvd.accounts.services import token_digest, token_use_audit
from modelcvd.accounts.twofactor import anonymous
from modelcvd.core.errors import Forbidden

ALL_SCOPES = frozenset(s.value for s in TokenScope)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_for_secret(token_digest(token))
        if found is None:
            return None
        # Bounded write: at most once a minute per token, so reads stay cheap.
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            type(found).objects.filter(pk=found.pk).update(last_used_at=now)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # Writes by script are on the audit chain even when the write itself is refused.
            token_use_audit(token=found, method=request.method, path=request.path)
        if not token_scope_check(request, found.scopes):
            return None  # an open operation, and no `read`: the token reads as the public
        request.scopes = frozenset(found.scopes)  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class BrowserSession(SessionAuth):
    def __call__(self, request: HttpRequest) -> Any:
        # No session, no CSRF question: an anonymous caller is told to authenticate (401),
        # not that a CSRF token is missing (403).
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user:
            request.scopes = ALL_SCOPES  # type: ignore[attr-defined]
        return user


def anonymous_caller(request: HttpRequest) -> AnonymousUser:
    """The last resort of an operation open to the public: the caller is anonymous. Never
    `request.user`: only the two credentials above may name a user."""
    return anonymous()


API_AUTH = [BearerToken(), BrowserSession()]
# Operations that answer the public too (each at the caller's level).
OPTIONAL_AUTH = [*API_AUTH, anonymous_caller]


def api_user(request: HttpRequest) -> User:
    """The signed-in user of a request that passed API_AUTH."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise Forbidden("authentication required")
    return user


def api_actor(request: HttpRequest) -> User | AnonymousUser:
    """The caller of a route open to the public: a user, or the anonymous one."""
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else AnonymousUser()
