"""Web forms for researcher re-verification, shown on the case page to the reporter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import CaseAccess
from modelcvd.core.errors import DomainError, InvalidInput, NotFound
from modelcvd.verification.services import (
    AFTER_FIX,
    fix_opinion_record,
    fixed_versions,
    reverification_request,
)
from modelcvd.web.forms import _choice_field


class ReverifyForm(forms.Form):
    artifact_id = forms.TypedChoiceField(label="Fixed version", coerce=int)
    trials = forms.IntegerField(label="Trials", min_value=1, max_value=10_000, initial=20)
    target = forms.CharField(
        label="Target (optional)",
        required=False,
        max_length=500,
        help_text="hf:DIR under the server's model directories; empty: the coordinators' target",
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "artifact_id").choices = [
            (a.pk, str(a)) for a in fixed_versions(case=case)
        ]


class FixOpinionForm(forms.Form):
    agrees = forms.TypedChoiceField(
        label="Does the fix work?",
        choices=[("yes", "Yes, I agree it is fixed"), ("no", "No, I disagree")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    statement = forms.CharField(label="Your statement", max_length=5000, widget=forms.Textarea)
    run_id = forms.TypedChoiceField(
        label="Evidence run", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "run_id").choices = [("", "none")] + [
            (r.pk, f"#{r.pk} on {r.artifact}") for r in case.verification_runs.all()
        ]


def reverify_context(*, case: Case, access: CaseAccess) -> dict[str, Any] | None:
    """The re-verification forms for the case page, or None when they do not apply."""
    announced = case.timeline.filter(
        kind=TimelineEvent.Kind.TRANSITION, to_state="fix_available"
    ).exists()
    if not access.reporter or case.state not in AFTER_FIX or not announced:
        return None
    return {"form": ReverifyForm(case=case), "opinion_form": FixOpinionForm(case=case)}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _errors(request: HttpRequest, form: forms.Form) -> None:
    for name, errors in form.errors.items():
        messages.error(request, f"{name}: {' '.join(str(e) for e in errors)}")


@login_required
@require_http_methods(["POST"])
def reverify_view(request: HttpRequest, case_id: int) -> HttpResponse:
    from modelcvd.cases.selectors import case_get_visible

    try:
        case = case_get_visible(actor=_user(request), case_id=case_id)
        form = ReverifyForm(request.POST, case=case)
        if form.is_valid():
            run = reverification_request(
                case_id=case_id,
                actor=_user(request),
                artifact_id=form.cleaned_data["artifact_id"],
                trials=form.cleaned_data["trials"],
                target=form.cleaned_data["target"] or None,
            )
            messages.success(request, f"Re-verification run #{run.pk} queued.")
        else:
            _errors(request, form)
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:case", case_id=case_id)


@login_required
@require_http_methods(["POST"])
def fix_opinion_view(request: HttpRequest, case_id: int) -> HttpResponse:
    from modelcvd.cases.selectors import case_get_visible

    try:
        case = case_get_visible(actor=_user(request), case_id=case_id)
        form = FixOpinionForm(request.POST, case=case)
        if form.is_valid():
            fix_opinion_record(
                case_id=case_id,
                actor=_user(request),
                agrees=form.cleaned_data["agrees"],
                statement=form.cleaned_data["statement"],
                run_id=form.cleaned_data["run_id"],
            )
            messages.success(request, "Your view of the fix is on the timeline.")
        else:
            _errors(request, form)
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:case", case_id=case_id)
