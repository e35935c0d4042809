"""Who may do what to an advisory (core/access.py explains the shape). Unpublished ones follow
their case's rule (cases/access.py); published and withdrawn ones are public.

| action         | who                                                                     |
|----------------|-------------------------------------------------------------------------|
| view           | everyone, once published or withdrawn; before that the case's parties   |
|                | (coordinators, notified vendors), not its reporter                      |
| coordinate     | the case's coordinators: write, move, reveal the commitment             |
| vendor_level   | the case's parties: read it at the vendor disclosure level              |
| defender_level | vetted defenders: read it at the defender level                         |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from modelcvd.accounts.access import holds
from modelcvd.accounts.models import Role
from modelcvd.cases.models import Case
from modelcvd.core.access import Actor, RestrictedQuerySet

if TYPE_CHECKING:
    from modelcvd.advisories.models import Advisory  # noqa: F401 (the QuerySet's row type)

# Advisory.State.PUBLISHED and WITHDRAWN (the model imports this module, not the reverse).
PUBLIC_STATES = ("published", "withdrawn")


def _case(actor: Actor, action: str) -> Q:
    return Q(case__in=Case.objects.allowed(actor, action))


class AdvisoryQuerySet(RestrictedQuerySet["Advisory"]):
    rules = {
        "view": lambda actor: Q(state__in=PUBLIC_STATES) | _case(actor, "party"),
        "coordinate": lambda actor: _case(actor, "coordinate"),
        "vendor_level": lambda actor: _case(actor, "party"),
        "defender_level": lambda actor: holds(actor, Role.DEFENDER),
    }
