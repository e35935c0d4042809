"""The coordinators' advisory pages: draft one from a case, edit it, move it through review to
publication or withdrawal. The same services as the API do the work and the checks; anyone
but the case's coordinators gets 404 (cannot see the case or draft) or 403 (can see it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.advisories.forms import AdvisoryEditForm, AdvisoryForm, AdvisoryTransitionForm
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.selectors import advisory_get_visible
from modelcvd.advisories.services import (
    TRANSITIONS,
    advisory_create,
    advisory_transition,
    advisory_update,
    content_from_case,
)
from modelcvd.cases.selectors import case_access, case_get_visible
from modelcvd.core.errors import DomainError, FieldError, Forbidden, InvalidInput, NotFound


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _form_errors(form: forms.Form) -> list[FieldError]:
    return [FieldError(name, "; ".join(str(x) for x in e)) for name, e in form.errors.items()]


def authoring_context(
    request: HttpRequest, advisory: Advisory, edit_form: AdvisoryEditForm | None = None
) -> dict[str, Any]:
    """What the advisory page adds for the case's coordinators: the edit form and the moves
    the advisory's state allows. Empty for everyone else."""
    if not case_access(actor=request.user, case=advisory.case).staff:
        return {}
    editable = advisory.state != Advisory.State.WITHDRAWN
    return {
        "can_author": True,
        "edit_form": (
            edit_form or AdvisoryEditForm(initial=AdvisoryForm.initial_from(advisory.content))
        )
        if editable
        else None,
        "moves": TRANSITIONS[advisory.state],
    }


@login_required
@require_http_methods(["GET", "POST"])
def advisory_draft(request: HttpRequest, case_id: int) -> HttpResponse:
    """A new draft advisory for a case, its form filled in from the case's first report."""
    try:
        case = case_get_visible(actor=_user(request), case_id=case_id)
    except NotFound:
        raise Http404 from None
    if not case_access(actor=_user(request), case=case).staff:
        raise PermissionDenied("only the case's coordinators may write its advisory")
    errors: list[FieldError] = []
    if request.method == "POST":
        form = AdvisoryForm(request.POST)
        if form.is_valid():
            try:
                advisory = advisory_create(
                    actor=_user(request), case_id=case_id, content=form.content()
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                messages.success(request, f"Draft {advisory.advisory_id} written.")
                return redirect("advisories:detail", advisory_id=advisory.advisory_id)
        else:
            errors = _form_errors(form)
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


@contextmanager
def _http_errors() -> Iterator[None]:
    """A service's 404 and 403 as Django's (the advisory can vanish or change hands between
    the check and the write)."""
    try:
        yield
    except NotFound:
        raise Http404 from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None


def _require_author(request: HttpRequest, advisory_id: str) -> None:
    """404 unless the advisory is visible to the user, 403 unless they coordinate its case:
    before the form is read, so a bad form never tells a stranger more than a good one."""
    try:
        advisory = advisory_get_visible(actor=_user(request), advisory_id=advisory_id)
    except NotFound:
        raise Http404 from None
    if not case_access(actor=_user(request), case=advisory.case).staff:
        raise PermissionDenied("only the case's coordinators may change this advisory")


@login_required
@require_http_methods(["POST"])
def advisory_edit(request: HttpRequest, advisory_id: str) -> HttpResponse:
    from modelcvd.advisories.views import advisory_page

    _require_author(request, advisory_id)
    form = AdvisoryEditForm(request.POST)
    try:
        with _http_errors():
            if not form.is_valid():
                raise InvalidInput(_form_errors(form))
            advisory_update(
                actor=_user(request),
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
def advisory_move(request: HttpRequest, advisory_id: str) -> HttpResponse:
    _require_author(request, advisory_id)
    form = AdvisoryTransitionForm(request.POST)
    try:
        with _http_errors():
            if not form.is_valid():
                raise InvalidInput(_form_errors(form))
            moved = advisory_transition(
                actor=_user(request),
                advisory_id=advisory_id,
                to=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
            )
        messages.success(request, f"Advisory {moved.advisory_id} is now {moved.state}.")
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("advisories:detail", advisory_id=advisory_id)
