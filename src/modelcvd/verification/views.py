"""Researcher re-verification on the case page: the forms it shows the reporter, a new run on a
fixed version, and the reporter's view of the fix; and scoring the case, which takes the
reproducibility its verification runs measured."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.cases.forms import ScoreForm
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import CaseAccess, case_access, case_get_visible
from modelcvd.cases.services import case_score
from modelcvd.cases.views import case_action
from modelcvd.core.errors import InvalidInput
from modelcvd.verification.forms import BringInForm, FixOpinionForm, MatrixForm, ReverifyForm
from modelcvd.verification.matrix import matrix_get_for
from modelcvd.verification.selectors import (
    measured_reproducibility,
    run_get_visible,
    run_progress,
    runs_for_case,
    targets_for_case,
)
from modelcvd.verification.services import (
    AFTER_FIX,
    attestation_export,
    fix_opinion_record,
    matrix_request,
    matrix_vendor_bring_in,
    reverification_request,
    run_cancel,
)
from modelcvd.vocabulary import RunVerdict
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import errors_text, form_errors, request_user

# The forms live on the case page: refusals are told there.
on_case_page = domain_errors_as_pages(back="cases:detail", back_kwargs=("case_id",))


def reverify_context(*, case: Case, access: CaseAccess) -> dict[str, Any] | None:
    """The re-verification forms for the case page, or None when they do not apply."""
    announced = case.timeline.filter(
        kind=TimelineEvent.Kind.TRANSITION, to_state="fix_available"
    ).exists()
    if not access.reporter or case.state not in AFTER_FIX or not announced:
        return None
    return {"form": ReverifyForm(case=case), "opinion_form": FixOpinionForm(case=case)}


def _errors(request: HttpRequest, form: forms.Form) -> None:
    for error in form_errors(form):
        messages.error(request, f"{error.field}: {error.reason}")


@login_required
@require_http_methods(["POST"])
@on_case_page
def reverify_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get_visible(actor=request_user(request), case_id=case_id)
    form = ReverifyForm(request.POST, case=case)
    if form.is_valid():
        run = reverification_request(
            case_id=case_id,
            actor=request_user(request),
            artifact_id=form.cleaned_data["artifact_id"],
            trials=form.cleaned_data["trials"],
            target=form.cleaned_data["target"] or None,
        )
        messages.success(request, f"Re-verification run #{run.pk} queued.")
    else:
        _errors(request, form)
    return redirect("cases:detail", case_id=case_id)


@login_required
@require_http_methods(["POST"])
@on_case_page
def fix_opinion_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get_visible(actor=request_user(request), case_id=case_id)
    form = FixOpinionForm(request.POST, case=case)
    if form.is_valid():
        fix_opinion_record(
            case_id=case_id,
            actor=request_user(request),
            agrees=form.cleaned_data["agrees"],
            statement=form.cleaned_data["statement"],
            run_id=form.cleaned_data["run_id"],
        )
        messages.success(request, "Your view of the fix is on the timeline.")
    else:
        _errors(request, form)
    return redirect("cases:detail", case_id=case_id)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_score_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        assert isinstance(form, ScoreForm)
        case = case_score(
            case_id=case_id,
            actor=request_user(request),
            measured=measured_reproducibility(case_id=case_id),
            cvss_vector=form.cleaned_data["cvss_vector"],
            rubric=form.rubric(),
            ssvc_triage=form.ssvc("triage"),
            ssvc_publish=form.ssvc("publish"),
        )
        return f"Scored: tier {case.tier}."

    return case_action(request, case_id, ScoreForm, act)


def attestation_response(bundle: dict[str, Any], run_id: int) -> JsonResponse:
    """A run's attestation bundle as a download (docs/attestations.md)."""
    response = JsonResponse(bundle, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="modelcvd-run-{run_id}.intoto.json"'
    return response


@login_required
@require_http_methods(["GET"])
@domain_errors_as_pages
def run_attestation_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """The signed attestation of a finished run, for whoever may read the run."""
    user = request_user(request)
    run = run_get_visible(actor=user, run_id=run_id)
    return attestation_response(attestation_export(actor=user, run=run), run.pk)


@login_required
@require_http_methods(["POST"])
@on_case_page
def matrix_request_view(request: HttpRequest, case_id: int) -> HttpResponse:
    user = request_user(request)
    case = case_get_visible(actor=user, case_id=case_id)
    choices = [(t.pk, t.name) for t in targets_for_case(actor=user, case=case)]
    form = MatrixForm(request.POST, targets=choices)
    if form.is_valid():
        group = matrix_request(
            case_id=case_id,
            actor=user,
            target_ids=form.cleaned_data["target_ids"],
            trials=form.cleaned_data["trials"],
            sequential=form.cleaned_data["sequential"],
        )
        messages.success(request, f"Transfer matrix #{group.pk} queued.")
    else:
        _errors(request, form)
    return redirect("cases:detail", case_id=case_id)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def matrix_bring_in_view(request: HttpRequest, group_id: int) -> HttpResponse:
    user = request_user(request)
    matrix = matrix_get_for(actor=user, group_id=group_id)
    form = BringInForm(request.POST)
    if form.is_valid():
        try:
            party = matrix_vendor_bring_in(
                actor=user,
                group_id=group_id,
                organisation=form.cleaned_data["organisation"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"Vendor {party.organisation.name} notified.")
        except InvalidInput as exc:
            messages.error(request, errors_text(exc.errors))
    else:
        _errors(request, form)
    return redirect("cases:detail", case_id=matrix.case_id)


LIVE_STATES = ("queued", "running")


@login_required
@require_http_methods(["GET"])
@domain_errors_as_pages
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run as it goes: progress, the time left at the measured pace, the verdict when it
    ends, and a cancel button for the case's coordinators. Reloads itself while it runs."""
    user = request_user(request)
    run = runs_for_case(case=run_get_visible(actor=user, run_id=run_id).case).get(pk=run_id)
    live = run.state in LIVE_STATES
    staff = case_access(actor=user, case=run.case).staff
    summary = run.summary or {}
    verdict = summary.get("verdict") if not live else None
    return render(
        request,
        "verification/run.html",
        {
            "run": run,
            "progress": run_progress(run),
            "live": live,
            # In words: "blocked" reads like the opposite of what happened (the model that
            # answered was not the one pinned, so nothing was counted).
            "verdict": RunVerdict(verdict).label if verdict in RunVerdict.values else "",
            "mismatches": summary.get("identity_mismatches") or [],
            "can_cancel": staff and live and not run.cancel_requested,
        },
    )


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def run_cancel_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_cancel(run_id=run_id, actor=request_user(request))
    messages.success(request, f"Run #{run.pk}: cancel requested.")
    return redirect("verification:run_page", run_id=run.pk)
