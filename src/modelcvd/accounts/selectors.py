"""Reads on accounts: who holds which role where, and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from modelcvd.accounts.access import api_tokens
from modelcvd.accounts.links import FOLLOW_UP_PREFIX, follow_up_hashes
from modelcvd.accounts.models import (
    ApiToken,
    FollowUpLink,
    Membership,
    Organisation,
    Role,
    User,
)


def roles_of(user: AbstractBaseUser | AnonymousUser | None) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    roles = set(Membership.objects.filter(user_id=user.pk).values_list("role", flat=True))
    if getattr(user, "is_superuser", False):
        roles.add(Role.ADMIN)
    return roles


def organisations_where(user: AbstractBaseUser | AnonymousUser | None, role: Role) -> list[int]:
    if user is None or not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user_id=user.pk, role=role).values_list(
            "organisation_id", flat=True
        )
    )


def token_for_secret(digest: str) -> ApiToken | None:
    """The live token with this digest: not revoked, not expired, user active."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return token


def tokens_of(*, actor: User) -> QuerySet[ApiToken]:
    """The actor's own tokens, newest first: never anyone else's (accounts/access.py)."""
    return api_tokens().restrict(actor, "view").order_by("-created_at", "-pk")


def token_get_for(*, actor: User, token_id: int, action: str = "view") -> ApiToken:
    """One of the actor's own tokens; another's is NotFound, exactly as a missing one."""
    return api_tokens().get_for(actor=actor, action=action, pk=token_id)


def tokens_for_operator(*, username: str | None = None) -> QuerySet[ApiToken]:
    """Every token (an operator's view, `modelcvd token list`), or one user's, newest first."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    return tokens.filter(user__username=username) if username else tokens


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def organisation_by_slug(slug: str) -> Organisation | None:
    return Organisation.objects.filter(slug=slug).first()


def follow_up_reporter(secret: str) -> User | None:
    """The anonymous reporter a follow-up secret stands for; None for any other string."""
    if not secret.startswith(FOLLOW_UP_PREFIX) or len(secret) > 100:
        return None
    link = (
        FollowUpLink.objects.select_related("user")
        .filter(secret_hash__in=follow_up_hashes(secret))
        .first()
    )
    return link.user if link else None


def is_anonymous_reporter(user_id: int) -> bool:
    return FollowUpLink.objects.filter(user_id=user_id).exists()


def user_with_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()
