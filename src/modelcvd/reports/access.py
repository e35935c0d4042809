"""Who may do what to a report (core/access.py explains the shape). A case's reports follow
the case rule (cases/access.py), except that a reporter sees only their own report, never
another reporter's in the same case.

| action     | who                                                                         |
|------------|-----------------------------------------------------------------------------|
| view       | its reporter; the case's parties (coordinators, notified vendors): read it, |
|            | open its sealed payload and attachments (held-out items aside)              |
| attach     | its reporter and the case's coordinators: add attachments                   |
| coordinate | the case's coordinators: decide scope, read held-out benchmark items        |
| reporter   | its reporter: upload the payload of an abstract-first report                |
| held_out   | who may read its held-out content: its reporter and the case's coordinators |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from modelcvd.accounts.access import is_actor
from modelcvd.cases.models import Case
from modelcvd.core.access import Actor, RestrictedQuerySet

if TYPE_CHECKING:
    from modelcvd.reports.models import Report  # noqa: F401 (the QuerySet's row type)


def _case(actor: Actor, action: str) -> Q:
    return Q(case__in=Case.objects.allowed(actor, action))


def _reporter(actor: Actor) -> Q:
    return is_actor(actor, "reporter_id")


class ReportQuerySet(RestrictedQuerySet["Report"]):
    rules = {
        "view": lambda actor: _reporter(actor) | _case(actor, "party"),
        "attach": lambda actor: _reporter(actor) | _case(actor, "coordinate"),
        "coordinate": lambda actor: _case(actor, "coordinate"),
        "reporter": _reporter,
        "held_out": lambda actor: _reporter(actor) | _case(actor, "coordinate"),
    }
