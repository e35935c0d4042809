"""What the case page shows, for the case views and the case forms that re-render it.

The sections of apps that build on cases (duplicates, verification runs, held-out aggregates,
the timeline as the viewer may see it, advisories) are rendered by those apps' template tags,
which the case template loads: this module imports no app above cases."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from modelcvd.accounts.access import is_administrator
from modelcvd.accounts.models import Organisation, User
from modelcvd.cases.access import vendor_organisations
from modelcvd.cases.forms import (
    CommentForm,
    EmbargoForm,
    ExtensionDecisionForm,
    ExtensionForm,
    ScoreForm,
    TransitionForm,
    VendorNotifyForm,
    VendorStatusForm,
    WaitingForm,
)
from modelcvd.cases.models import Case, Comment
from modelcvd.cases.selectors import (
    CaseAccess,
    case_access,
    case_get_visible,
    comments_visible,
    reporter_track_records,
)
from modelcvd.cases.services import deadlines_out, embargo_out, severity_out, vendors_untold
from modelcvd.cases.services.scoring import PUBLISH_POINTS, TRIAGE_POINTS
from modelcvd.cases.workflow import CaseState, targets_for
from modelcvd.scoring.cvss4 import cvss4_base_metrics_of
from modelcvd.scoring.reconcile import severity_reconciliation
from modelcvd.scoring.ssvc import coordinator_publish_table, coordinator_triage_table
from modelcvd.web.helpers import request_user


def case_policy_context(case: Case, access: CaseAccess, user: User) -> dict[str, Any]:
    """Severity, deadlines, extensions, embargo and the vendor grid, with the forms the actor
    may use."""
    own = vendor_organisations(user, case) if access.vendor else set()
    return {
        "severity": severity_out(case),
        "deadlines": deadlines_out(case),
        "extensions": case.extensions.select_related("requested_by"),
        "embargo": embargo_out(case),
        "reconciliation": severity_reconciliation(severity_out(case)),
        "score_form": ScoreForm(initial=score_initial(case)) if access.staff else None,
        "waiting_form": WaitingForm() if access.staff else None,
        "extension_form": ExtensionForm() if access.any else None,
        "decision_form": ExtensionDecisionForm() if access.staff else None,
        "embargo_form": EmbargoForm() if (access.staff or access.vendor) else None,
        # Vendors whose artifacts the case names but who were never told (a merge adds
        # artifacts): the coordinators tell each one explicitly.
        "untold_vendors": Organisation.objects.filter(pk__in=vendors_untold(case)).order_by("name")
        if access.staff
        else [],
        "vendor_notify_form": VendorNotifyForm() if access.staff else None,
        # The vendor grid: each vendor party's own status; its members or the coordinators
        # state it. Reporters do not see it.
        "vendor_grid": [
            (party, access.staff or party.organisation_id in own)
            for party in case.vendor_parties.select_related("organisation")
        ]
        if (access.staff or access.vendor)
        else [],
        "vendor_status_form": VendorStatusForm(),
    }


def score_initial(case: Case) -> dict[str, Any]:
    """The scoring form as the case stands: its last scores, or, before the first scoring, the
    harm category its first report names."""
    initial: dict[str, Any] = dict((case.rubric or {}).get("inputs", {}))
    if "harm_category" not in initial:
        report = case.reports.order_by("created_at", "pk").first()
        if report is not None:
            initial["harm_category"] = report.harm_category
    initial.update({f"cvss_{k}": v for k, v in cvss4_base_metrics_of(case.cvss_vector).items()})
    for prefix, points, table in (
        ("triage", TRIAGE_POINTS, coordinator_triage_table()),
        ("publish", PUBLISH_POINTS, coordinator_publish_table()),
    ):
        inputs = ((case.ssvc or {}).get(prefix) or {}).get("inputs") or {}
        for name, point in zip(points, table.decision_points, strict=True):
            if point.key in inputs:  # stored by SSVC key ("RP"); the form names it
                initial[f"{prefix}_{name}"] = inputs[point.key]
    return initial


def case_artifact_choices(case: Case) -> list[tuple[int, str]]:
    """The case's artifacts as the fix step's form offers them."""
    return [
        (a.pk, f"{a}{f' {a.version_label}' if a.version_label else ''}")
        for a in case.artifacts.order_by("pk")
    ]


def case_page_context(request: HttpRequest, case_id: int) -> dict[str, Any]:
    """The case page for the signed-in user; NotFound when they may not see the case."""
    user = request_user(request)
    case = case_get_visible(actor=user, case_id=case_id)
    access = case_access(actor=user, case=case)
    targets = targets_for(CaseState(case.state), staff=access.staff, vendor=access.vendor)
    if access.staff:
        visibilities = [v.value for v in Comment.Visibility]
    else:
        visibilities = [
            Comment.Visibility.REPORTER.value
            if access.reporter
            else Comment.Visibility.VENDOR.value
        ]
    reports = (
        case.reports.all()
        if access.staff or access.vendor
        else case.reports.filter(reporter_id=user.pk)
    )
    return {
        "case": case,
        "access": access,
        "reports": reports,
        "comments": comments_visible(case=case, actor=user, access=access),
        "transition_form": TransitionForm(
            targets=targets,
            artifacts=case_artifact_choices(case),
            can_override="disclosed" in targets and is_administrator(user),
        )
        if targets
        else None,
        "comment_form": CommentForm(
            visibilities=visibilities,
            channels=[(r.pk, f"report #{r.pk}") for r in reports] if access.staff else [],
        ),
        "targets": targets,
        "visibilities": visibilities,
        "track_records": reporter_track_records(case=case, access=access),
        **case_policy_context(case, access, user),
    }
