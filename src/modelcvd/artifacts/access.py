"""Who may do what to an artifact (core/access.py explains the shape, and why a triager's scope
is their organisations' programs).

| action     | who                                                                          |
|------------|------------------------------------------------------------------------------|
| view       | everyone, for artifacts in the scope of some program; otherwise coordinate   |
| coordinate | administrators; triagers, for the artifacts in the scope of their            |
|            | organisations' programs, named by those programs' cases, or named by no case |
|            | and no program (registry entries that hint at no report): see them, record   |
|            | digests and successor versions, run forensics on them                        |
| state_fix  | coordinate, and the members of the artifact's vendor: name the version that  |
|            | fixes it at a case's "fix available" step (registering it if it is new)      |

Registering a new artifact or importing model cards names no existing row: any triager or
administrator may (`may_register`). Artifacts first named by a report to another
organisation's program stay hidden from a triager until some program puts them in scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from modelcvd.accounts.access import actor_meets, administers, holds, organisations_as
from modelcvd.accounts.models import Role
from modelcvd.core.access import Actor, RestrictedQuerySet

if TYPE_CHECKING:
    from modelcvd.artifacts.models import Artifact  # noqa: F401 (the QuerySet's row type)


def _coordinate(actor: Actor) -> Q:
    mine = organisations_as(actor, Role.TRIAGER)
    return (
        administers(actor)
        | Q(programs__organisation_id__in=mine)
        | Q(cases__program__organisation_id__in=mine)
        | (holds(actor, Role.TRIAGER) & Q(programs__isnull=True, cases__isnull=True))
    )


class ArtifactQuerySet(RestrictedQuerySet["Artifact"]):
    rules = {
        "view": lambda actor: Q(programs__isnull=False) | _coordinate(actor),
        "coordinate": _coordinate,
        "state_fix": lambda actor: (
            _coordinate(actor) | Q(vendor_id__in=organisations_as(actor, Role.VENDOR_MEMBER))
        ),
    }


def may_register(actor: Actor | None) -> bool:
    """Whether `actor` may add artifacts to the registry (None: the system itself)."""
    return actor is None or actor_meets(actor, administers(actor) | holds(actor, Role.TRIAGER))
