"""API authentication: bearer tokens for scripts, the session (with CSRF) for the browser.

A browser session counts only once it has passed the second factor where one is owed (staff,
see `accounts.twofactor`); bearer tokens are a credential of their own and need no code.

Either way `request.auth` is the User and `request.scopes` the scopes this request may use:
a token's own scopes, or every scope for a signed-in browser session. What a token may call is
each operation's declaration, checked here as soon as the token is found (accounts/scopes.py).
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
from modelcvd.accounts.twofactor import two_factor_pending
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
        if user and two_factor_pending(request.user):
            # Password only, code still owed (staff): the session is not signed in for the API.
            return None
        if user:
            request.scopes = ALL_SCOPES  # type: ignore[attr-defined]
        return user


API_AUTH = [BearerToken(), BrowserSession()]


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
