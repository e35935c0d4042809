"""Who may do what to a case: the one rule (core/access.py explains the shape).

| action     | who                                                                          |
|------------|------------------------------------------------------------------------------|
| coordinate | administrators; triagers of the organisation that runs the case's program:   |
|            | triage and transitions, scoring, merge, embargo, deadlines, credits,         |
|            | bounties, verification runs, advisory drafting, duplicate proposals          |
| report     | the reporter of a report in the case                                         |
| vendor     | members of a vendor organisation that was told of the case (CaseVendor): an  |
|            | artifact's vendor is not a party by being named (a merge adds artifacts)     |
| party      | coordinate or vendor: also sees the case's reports and unpublished advisories |
| view       | coordinate, report or vendor: sees the case, its timeline, its comments      |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from modelcvd.accounts.access import administers, is_actor, organisations_as
from modelcvd.accounts.models import Role
from modelcvd.core.access import Actor, RestrictedQuerySet

if TYPE_CHECKING:
    from modelcvd.cases.models import Case


def _coordinate(actor: Actor) -> Q:
    return administers(actor) | Q(
        program__organisation_id__in=organisations_as(actor, Role.TRIAGER)
    )


def _report(actor: Actor) -> Q:
    return is_actor(actor, "reports__reporter_id")


def _vendor(actor: Actor) -> Q:
    return Q(vendor_parties__organisation_id__in=organisations_as(actor, Role.VENDOR_MEMBER))


class CaseQuerySet(RestrictedQuerySet["Case"]):
    rules = {
        "coordinate": _coordinate,
        "report": _report,
        "vendor": _vendor,
        "party": lambda actor: _coordinate(actor) | _vendor(actor),
        "view": lambda actor: _coordinate(actor) | _report(actor) | _vendor(actor),
    }


def vendor_organisations(actor: Actor, case: Case) -> set[int]:
    """The vendor organisations `actor` speaks for in `case` (the "vendor" rule, per
    organisation): only those that were told of the case."""
    return set(
        case.vendor_parties.filter(
            organisation_id__in=organisations_as(actor, Role.VENDOR_MEMBER)
        ).values_list("organisation_id", flat=True)
    )
