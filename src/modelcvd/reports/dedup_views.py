"""Duplicate proposals on the case page: the rows it shows, and dismissing one.

Only a case's coordinators may dismiss; for anyone else the page answers 404, like the
proposals they cannot see. Merging two cases is asked from the same section of the case page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.cases.forms import MergeForm
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_visible
from modelcvd.core.errors import NotFound
from modelcvd.reports.dedup_selectors import case_for_staff, duplicates_for_case
from modelcvd.reports.forms import DismissForm
from modelcvd.reports.models import DuplicateCandidate, Report
from modelcvd.reports.services import case_merge, duplicate_dismiss
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import request_user

# The forms live on the case page: refusals are told there.
on_case_page = domain_errors_as_pages(back="cases:detail", back_kwargs=("case_id",))


@dataclass(frozen=True)
class DuplicateRow:
    """A proposal as the case page shows it: this case's report and the other case's."""

    proposal: DuplicateCandidate
    mine: Report
    other: Report


def duplicate_rows(*, actor: User, case: Case) -> list[DuplicateRow]:
    rows = []
    for d in duplicates_for_case(actor=actor, case_id=case.pk):
        mine, other = (
            (d.report, d.candidate) if d.report.case_id == case.pk else (d.candidate, d.report)
        )
        rows.append(DuplicateRow(proposal=d, mine=mine, other=other))
    return rows


@login_required
@require_http_methods(["POST"])
@on_case_page
def duplicate_dismiss_view(request: HttpRequest, case_id: int, duplicate_id: int) -> HttpResponse:
    case_for_staff(actor=request_user(request), case_id=case_id)
    form = DismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why this is not a duplicate.")
        return redirect("cases:detail", case_id=case_id)
    duplicate_dismiss(
        case_id=case_id,
        duplicate_id=duplicate_id,
        actor=request_user(request),
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, "Proposal dismissed.")
    return redirect("cases:detail", case_id=case_id)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_merge_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """Merge another case into this one; only coordinators of both (404 for anyone else)."""
    target = case_for_staff(actor=request_user(request), case_id=case_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the case to merge and give a reason.")
        return redirect("cases:detail", case_id=case_id)
    try:
        source = case_get_visible(actor=request_user(request), case_id=form.cleaned_data["source"])
    except NotFound:
        # The case named in the form, not this page: this page stays.
        messages.error(request, f"No case #{form.cleaned_data['source']} that you coordinate.")
        return redirect("cases:detail", case_id=case_id)
    case_merge(
        source=source,
        target=target,
        actor=request_user(request),
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, f"Case #{source.pk} merged into this case.")
    return redirect("cases:detail", case_id=case_id)
