"""Web pages of duplicate handling: dismiss a proposal, merge a case, on the case page.

Only a case's coordinators may use them; for anyone else they answer 404, like the proposals
they cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_visible
from modelcvd.cases.services import case_merge
from modelcvd.core.errors import DomainError, NotFound
from modelcvd.reports.dedup_selectors import case_for_staff, duplicates_for_case
from modelcvd.reports.models import DuplicateCandidate, Report
from modelcvd.reports.services.dedup import duplicate_dismiss


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=5000)


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, label="Case to merge into this one")
    reason = forms.CharField(max_length=5000)


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


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_http_methods(["POST"])
def duplicate_dismiss_view(request: HttpRequest, case_id: int, duplicate_id: int) -> HttpResponse:
    try:
        case_for_staff(actor=_user(request), case_id=case_id)
        form = DismissForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Say why this is not a duplicate.")
            return redirect("web:case", case_id=case_id)
        duplicate_dismiss(
            case_id=case_id,
            duplicate_id=duplicate_id,
            actor=_user(request),
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, "Proposal dismissed.")
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:case", case_id=case_id)


@login_required
@require_http_methods(["POST"])
def case_merge_view(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        target = case_for_staff(actor=_user(request), case_id=case_id)
        form = MergeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Name the case to merge and give a reason.")
            return redirect("web:case", case_id=case_id)
        try:
            source = case_get_visible(actor=_user(request), case_id=form.cleaned_data["source"])
        except NotFound:
            messages.error(request, f"No case #{form.cleaned_data['source']} that you coordinate.")
            return redirect("web:case", case_id=case_id)
        case_merge(
            source=source, target=target, actor=_user(request), reason=form.cleaned_data["reason"]
        )
        messages.success(request, f"Case #{source.pk} merged into this case.")
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:case", case_id=case_id)
