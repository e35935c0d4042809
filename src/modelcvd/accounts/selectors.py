"""Reads on accounts: who holds which role where."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from modelcvd.accounts.models import ApiToken, Membership, Organisation, Role, User


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


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def organisation_by_slug(slug: str) -> Organisation | None:
    return Organisation.objects.filter(slug=slug).first()
