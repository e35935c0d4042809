"""Duplicate proposals on the case page: the rows it shows, and dismissing one.

Only a case's coordinators may dismiss; for anyone else the page answers 404, like the
proposals they cannot see. Merging the cases is the case's own page (cases.views).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case
from modelcvd.reports.dedup_selectors import case_for_staff, duplicates_for_case
from modelcvd.reports.forms import DismissForm
from modelcvd.reports.models import DuplicateCandidate, Report
from modelcvd.reports.services import duplicate_dismiss
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import request_user


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
@domain_errors_as_pages(back="cases:detail", back_kwargs=("case_id",))
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
