"""How an actor's roles enter an access rule: as SQL conditions, never as Python lists.

The object kinds' rules (cases/access.py, reports/access.py, ...) are written with these, so a
rule is one query with the memberships as subqueries: a list page costs no extra query per
role, and a forbidden object costs exactly the work of a missing one.

This app's own object kind with a rule is the API token:

| action | who                                                                              |
|--------|----------------------------------------------------------------------------------|
| view   | its owner, and nobody else (administrators included): another's token is "not    |
|        | found"; an operator lists any with `modelcvd token list`                          |
| revoke | its owner (an operator: `modelcvd token revoke`)                                  |
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Q, QuerySet

from modelcvd.accounts.models import ApiToken, Membership, Role, User
from modelcvd.core.access import EVERYTHING, NOTHING, Actor, RestrictedQuerySet


def _user_id(actor: Actor) -> int | None:
    pk = actor.pk if actor.is_authenticated else None
    return int(pk) if pk is not None else None


def organisations_as(actor: Actor, role: Role) -> QuerySet[Membership, Any]:
    """The organisations where `actor` holds `role`, as a subquery of organisation ids."""
    user_id = _user_id(actor)
    if user_id is None:
        return Membership.objects.none().values("organisation_id")
    return Membership.objects.filter(user_id=user_id, role=role).values("organisation_id")


def holds(actor: Actor, role: Role) -> Q:
    """A condition true on every row when `actor` holds `role` (anywhere), else on none."""
    user_id = _user_id(actor)
    if user_id is None:
        return NOTHING
    if role == Role.ADMIN and getattr(actor, "is_superuser", False):
        return EVERYTHING
    return Q(Exists(Membership.objects.filter(user_id=user_id, role=role)))


def administers(actor: Actor) -> Q:
    """Administrators may do everything: true on every row for them."""
    return holds(actor, Role.ADMIN)


def is_administrator(actor: Actor) -> bool:
    """Whether `actor` administers the instance (an admin membership or a superuser)."""
    return actor_meets(actor, administers(actor))


def actor_meets(actor: Actor, condition: Q) -> bool:
    """Whether a condition built from `holds`/`administers` is true for `actor`: for
    decisions that name no row (may this actor register an artifact at all?)."""
    user_id = _user_id(actor)
    return user_id is not None and User.objects.filter(pk=user_id).filter(condition).exists()


def is_actor(actor: Actor, field: str) -> Q:
    """Rows whose `field` (a user foreign key) is the actor."""
    user_id = _user_id(actor)
    return NOTHING if user_id is None else Q(**{field: user_id})


class TokenQuerySet(RestrictedQuerySet[ApiToken]):
    rules = {
        "view": lambda actor: is_actor(actor, "user"),
        "revoke": lambda actor: is_actor(actor, "user"),
    }


def api_tokens() -> TokenQuerySet:
    """API tokens under their access rule. (Not `ApiToken.objects`: accounts.models cannot
    import this module, which imports it.)"""
    return TokenQuerySet(model=ApiToken)
