"""The coordinators' advisory pages: draft one from a case, edit it, move it through review to
publication or withdrawal. The same services as the API do the work and the checks; anyone
but the case's coordinators gets 404 (cannot see the case or draft) or 403 (can see it)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.advisories.forms import AdvisoryEditForm, AdvisoryForm, AdvisoryTransitionForm
from modelcvd.advisories.selectors import advisory_get_visible
from modelcvd.advisories.services import (
    advisory_approve,
    advisory_create,
    advisory_transition,
    advisory_update,
    content_from_case,
)
from modelcvd.advisories.views import advisory_page
from modelcvd.cases.selectors import case_access, case_get_visible
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import form_errors, request_user

# What the page says after a move, by the state reached.
MOVED = {
    "draft": "is back in draft",
    "review": "was sent to review",
    "published": "is published",
    "withdrawn": "is withdrawn",
}


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def advisory_draft(request: HttpRequest, case_id: int) -> HttpResponse:
    """A new draft advisory for a case, its form filled in from the case's first report."""
    case = case_get_visible(actor=request_user(request), case_id=case_id)
    if not case_access(actor=request_user(request), case=case).staff:
        raise PermissionDenied("only the case's coordinators may write its advisory")
    errors: list[FieldError] = []
    if request.method == "POST":
        form = AdvisoryForm(request.POST)
        if form.is_valid():
            try:
                advisory = advisory_create(
                    actor=request_user(request), case_id=case_id, content=form.content()
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                messages.success(request, f"Draft {advisory.advisory_id} written.")
                return redirect("advisories:detail", advisory_id=advisory.advisory_id)
        else:
            errors = form_errors(form)
    else:
        try:
            drafted = AdvisoryForm.initial_from(content_from_case(case))
        except InvalidInput:
            drafted = {}
        form = AdvisoryForm(initial={"reproduction_level": "vendor", **drafted})
    return render(
        request,
        "advisories/draft.html",
        {"case": case, "form": form, "errors": errors},
        status=422 if errors else 200,
    )


def _require_author(request: HttpRequest, advisory_id: str) -> None:
    """404 unless the advisory is visible to the user, 403 unless they coordinate its case:
    before the form is read, so a bad form never tells a stranger more than a good one."""
    advisory = advisory_get_visible(actor=request_user(request), advisory_id=advisory_id)
    if not case_access(actor=request_user(request), case=advisory.case).staff:
        raise PermissionDenied("only the case's coordinators may change this advisory")


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def advisory_edit(request: HttpRequest, advisory_id: str) -> HttpResponse:
    _require_author(request, advisory_id)
    form = AdvisoryEditForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(form_errors(form))
        advisory_update(
            actor=request_user(request),
            advisory_id=advisory_id,
            changes=form.content(),
            changelog=form.cleaned_data["changelog"],
        )
    except InvalidInput as exc:
        return advisory_page(request, advisory_id, edit_form=form, errors=exc.errors)
    messages.success(request, "Advisory saved.")
    return redirect("advisories:detail", advisory_id=advisory_id)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages(back="advisories:detail", back_kwargs=("advisory_id",))
def advisory_move(request: HttpRequest, advisory_id: str) -> HttpResponse:
    _require_author(request, advisory_id)
    form = AdvisoryTransitionForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(form_errors(form))
    moved = advisory_transition(
        actor=request_user(request),
        advisory_id=advisory_id,
        to=form.cleaned_data["to"],
        reason=form.cleaned_data["reason"],
        override_reason=form.cleaned_data["override_reason"],
    )
    messages.success(request, f"Advisory {moved.advisory_id} {MOVED[moved.state]}.")
    return redirect("advisories:detail", advisory_id=advisory_id)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages(back="advisories:detail", back_kwargs=("advisory_id",))
def advisory_approve_view(request: HttpRequest, advisory_id: str) -> HttpResponse:
    _require_author(request, advisory_id)
    advisory_approve(
        actor=request_user(request),
        advisory_id=advisory_id,
        reason=(request.POST.get("reason") or "")[:5000],
    )
    messages.success(request, f"Advisory {advisory_id} approved for publication.")
    return redirect("advisories:detail", advisory_id=advisory_id)
