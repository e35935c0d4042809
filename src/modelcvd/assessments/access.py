"""Who may do what to an assessment (core/access.py explains the shape).

| action      | who                                                                         |
|-------------|-----------------------------------------------------------------------------|
| view        | everyone, once published; before that the assessing organisation's assessors |
| author      | the assessing organisation's assessors: edit the draft, publish it          |
| read_detail | authors; once published, members of the assessed organisation: open the     |
|             | sealed detail (with an audited reason)                                      |

Recording a new assessment names no row: an assessor records it for their organisation
(`assessing_organisations`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from modelcvd.accounts.access import organisations_as
from modelcvd.accounts.models import Role
from modelcvd.core.access import Actor, RestrictedQuerySet

if TYPE_CHECKING:
    from modelcvd.assessments.models import Assessment  # noqa: F401 (the QuerySet's row type)

# Assessment.State.PUBLISHED (the model imports this module, not the reverse).
PUBLISHED = "published"


def _author(actor: Actor) -> Q:
    return Q(assessor_org_id__in=organisations_as(actor, Role.ASSESSOR))


def _assessed(actor: Actor) -> Q:
    return Q(state=PUBLISHED, subject_id__in=organisations_as(actor, Role.VENDOR_MEMBER))


class AssessmentQuerySet(RestrictedQuerySet["Assessment"]):
    rules = {
        "view": lambda actor: Q(state=PUBLISHED) | _author(actor),
        "author": _author,
        "read_detail": lambda actor: _author(actor) | _assessed(actor),
    }


def assessing_organisations(actor: Actor) -> list[int]:
    """The organisations `actor` records assessments for (as one of their assessors)."""
    return list(organisations_as(actor, Role.ASSESSOR).values_list("organisation_id", flat=True))
