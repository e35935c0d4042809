"""One access rule per object kind: `Model.objects.restrict(actor, action)`.

Modelled on NetBox's RestrictedQuerySet. Each app that owns an object kind declares, in its
`access.py`, a RestrictedQuerySet subclass whose `rules` map an action to a function
actor -> Q (a condition on that model's rows). Everything else is derived from that one
table, so the query filter and the per-object answer cannot drift apart:

- `restrict(actor, action)`: the rows the actor may do `action` to (list pages, subqueries);
- `get_for(actor=, pk=, action=, lock=)`: one row, or NotFound when it is missing OR not
  allowed (the same answer, the same single query: forbidden looks exactly like missing);
- `allows(actor, obj, action)` and `standing(actor, obj, actions)`: the in-Python predicate,
  computed by the same conditions in the database, several actions in one query.

No other module decides who may see or act on these objects (tests/core/test_access.py keeps
it so). Core knows no domain app: the rules, and the roles they read, live in the apps.

Triager scope, decided once: a triager acts for the organisations where they hold the triager
role, and coordinates exactly the programs those organisations run - their cases, those cases'
reports, runs, advisories, credits and bounties. Nothing is coordinated by "being a triager
somewhere", with one stated exception, the shared artifact registry (artifacts/access.py): any
triager may register an artifact; a triager sees and maintains (digests, successor version,
forensics) the artifacts in the scope of their organisations' programs, the artifacts named by
those programs' cases, and registry entries named by no case and no program (coordinators'
own registrations and card imports, which hint at no report). Artifacts first named by a
report to another organisation's program stay hidden from them. An administrator may do
everything; nobody else coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Exists, OuterRef, Q

from modelcvd.core.errors import Forbidden, NotFound

Actor = AbstractBaseUser | AnonymousUser
Rule = Callable[[Actor], Q]
M = TypeVar("M", bound=models.Model)

# A condition no row meets, and one every row meets: rules combine them with | and &.
NOTHING = Q(pk__in=[])
EVERYTHING = Q(pk__isnull=False)


class RestrictedQuerySet(models.QuerySet[M]):
    """A QuerySet that knows who may do what to its rows. Subclasses set `rules`."""

    rules: ClassVar[Mapping[str, Rule]] = {}
    # The action that lets an actor know a row exists: without it, "not found".
    seen_by: ClassVar[str] = "view"

    def condition(self, actor: Actor | None, action: str) -> Q:
        """The rule for `action`, as a condition on this model's rows."""
        try:
            rule = self.rules[action]
        except KeyError:
            raise ValueError(
                f"{self.model.__name__} has no access action {action!r}; "
                f"one of {sorted(self.rules)}"
            ) from None
        return rule(actor if actor is not None else AnonymousUser())

    def allowed(self, actor: Actor | None, action: str) -> models.QuerySet[M, dict[str, Any]]:
        """The primary keys of the rows `actor` may do `action` to, as a subquery (for
        another kind's rule, e.g. a report follows its case)."""
        return self.model._default_manager.filter(self.condition(actor, action)).values("pk")

    def restrict(self, actor: Actor | None, action: str) -> Self:
        """The rows `actor` may do `action` to. Rules may join to-many relations, so the
        condition is applied as a subquery: no row comes back twice."""
        return self.filter(pk__in=self.allowed(actor, action))

    def get_for(
        self,
        *,
        actor: Actor | None,
        action: str,
        lock: bool = False,
        forbidden: str = "",
        **identity: Any,
    ) -> M:
        """The row named by `identity` (pk=..., or another unique field) if `actor` may do
        `action` to it; NotFound otherwise, in one query either way. With `forbidden`, an
        actor who may see the row (`seen_by`) but not do `action` to it is told so
        (Forbidden, 403), and only they: everyone else still gets NotFound. `lock` takes the
        row lock (SELECT ... FOR UPDATE OF the row's own table; ignored where the database
        has none, as SQLite, whose write transactions are exclusive anyway)."""
        if not identity:
            raise TypeError("get_for needs the row's identity, e.g. pk=...")
        qs = self.restrict(actor, self.seen_by if forbidden else action).filter(**identity)
        if lock:
            qs = qs.select_for_update(of=("self",))
        found = qs.first()
        if found is None:
            raise NotFound()
        if forbidden and not self.allows(actor, found, action):
            raise Forbidden(forbidden)
        return found

    def standing(
        self, actor: Actor | None, obj: models.Model, actions: Iterable[str]
    ) -> dict[str, bool]:
        """For each action, whether `actor` may do it to `obj`: the rules evaluated in the
        database, all in one query."""
        actions = list(actions)
        # Aliased: an action may share its name with a field (a report's "reporter").
        checks = {
            f"may_{action}": Exists(self.allowed(actor, action).filter(pk=OuterRef("pk")))
            for action in actions
        }
        row = self.model._default_manager.filter(pk=obj.pk).values(**checks).first()
        return {action: bool(row and row[f"may_{action}"]) for action in actions}

    def allows(self, actor: Actor | None, obj: models.Model, action: str) -> bool:
        """Whether `actor` may do `action` to `obj` (the rule, asked in the database)."""
        return self.standing(actor, obj, [action])[action]
