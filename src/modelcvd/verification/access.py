"""Who may do what to a verification run (core/access.py explains the shape). A run follows
its case's rule (cases/access.py); a run on a held-out benchmark item follows its report's
(reports/access.py): its per-run numbers would tell a vendor how each item fares.

| action     | who                                                                          |
|------------|------------------------------------------------------------------------------|
| view       | the case's parties; a reporter, the runs of their own report only (merged    |
|            | reporters never see each other's); unless the run replays a held-out item    |
|            | they may not read (vendors get the aggregates of verification/holdout.py);  |
|            | a run on a registered target: only coordinators and who may see the target |
| coordinate | the case's coordinators: cancel it                                           |

A registered target (Target):

| action | who                                                                              |
|--------|----------------------------------------------------------------------------------|
| view   | administrators; the members of its organisation (vendor members of a vendor,     |
| use    | triagers of a coordinator); the triagers of the organisations running a program  |
|        | the target was offered to. Never another vendor.                                 |
| manage | administrators and the members of its organisation: offer, withdraw, retire      |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, Q

from modelcvd.accounts.access import actor_meets, administers, organisations_as
from modelcvd.cases.models import Case
from modelcvd.core.access import Actor, RestrictedQuerySet
from modelcvd.reports.models import Report
from modelcvd.vocabulary import Role

if TYPE_CHECKING:
    from modelcvd.verification.models import Target, VerificationRun  # noqa: F401 (row types)


def _view(actor: Actor) -> Q:
    readable = Q(report__held_out=False) | Q(report__in=Report.objects.allowed(actor, "held_out"))
    own = Q(report__in=Report.objects.allowed(actor, "reporter"))
    # A run on a registered target tells which model it ran on: the case's coordinators see
    # it, and otherwise only those who may see the target (never another vendor).
    on_target = (
        Q(target__isnull=True)
        | Q(case__in=Case.objects.allowed(actor, "coordinate"))
        | _target_rule(actor, "target__")
    )
    return (Q(case__in=Case.objects.allowed(actor, "party")) | own) & readable & on_target


class RunQuerySet(RestrictedQuerySet["VerificationRun"]):
    rules = {
        "view": _view,
        "coordinate": lambda actor: Q(case__in=Case.objects.allowed(actor, "coordinate")),
    }


def _member(actor: Actor, prefix: str = "") -> Q:
    return (
        administers(actor)
        | Q(**{f"{prefix}organisation_id__in": organisations_as(actor, Role.VENDOR_MEMBER)})
        | Q(**{f"{prefix}organisation_id__in": organisations_as(actor, Role.TRIAGER)})
    )


def _target_rule(actor: Actor, prefix: str = "") -> Q:
    """The targets' view/use rule, on the target reached through `prefix` (for runs)."""
    return _member(actor, prefix) | Q(
        **{f"{prefix}offered_to__organisation_id__in": organisations_as(actor, Role.TRIAGER)}
    )


def _use(actor: Actor) -> Q:
    return _target_rule(actor)


class TargetQuerySet(RestrictedQuerySet["Target"]):
    rules = {"view": _use, "use": _use, "manage": _member}


def may_register_target(actor: Actor | None, organisation_id: int, vendor: bool) -> bool:
    """Whether `actor` may register a target for the organisation: its members (vendor members
    of a vendor, triagers of a coordinator) and administrators."""
    if actor is None:
        return False
    role = Role.VENDOR_MEMBER if vendor else Role.TRIAGER
    return actor_meets(
        actor,
        administers(actor)
        | Q(Exists(organisations_as(actor, role).filter(organisation_id=organisation_id))),
    )


def target_organisations(actor: Actor) -> Q:
    """A condition on organisations: those `actor` may register targets for."""
    return (
        administers(actor)
        | Q(kind="vendor", pk__in=organisations_as(actor, Role.VENDOR_MEMBER))
        | Q(pk__in=organisations_as(actor, Role.TRIAGER))
    )
