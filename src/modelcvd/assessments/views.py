"""Assessment pages: the public list and comparison, one assessment (with the sealed detail for
those who may read it), a draft form for assessors, and publishing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.assessments.access import assessing_organisations
from modelcvd.assessments.forms import AssessmentForm, UnsealDetailForm
from modelcvd.assessments.models import ClaimLevel
from modelcvd.assessments.selectors import (
    assessment_get_visible,
    assessment_is_author,
    assessment_list_visible,
    assessment_may_read_detail,
    assessments_comparison,
)
from modelcvd.assessments.services import (
    FindingInput,
    ThreatModelInput,
    assessment_create,
    assessment_detail_open,
    assessment_publish,
)
from modelcvd.core.errors import InvalidInput
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import request_user

CLAIM_RANK = {c.value: i for i, c in enumerate(ClaimLevel)}


def assessment_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "assessments/list.html",
        {
            "assessments": assessment_list_visible(actor=request.user),
            "is_assessor": bool(assessing_organisations(request.user)),
        },
    )


def compare(request: HttpRequest) -> HttpResponse:
    c = assessments_comparison()
    rows = []
    for org in c.organisations:
        cells = []
        for key, _ in c.threat_models:
            cell = c.cells.get((org.pk, key))
            cells.append((cell, CLAIM_RANK.get(cell.claim, 0) if cell else None))
        rows.append((org, cells))
    return render(
        request,
        "assessments/compare.html",
        {"threat_models": c.threat_models, "rows": rows, "levels": list(ClaimLevel)},
    )


@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def assessment_detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_visible(actor=request.user, assessment_id=assessment_id)
    may_read = request.user.is_authenticated and assessment_may_read_detail(
        actor=request.user, assessment=assessment
    )
    if request.method == "POST" and not may_read:
        raise Http404
    form = UnsealDetailForm(request.POST or None)
    detail = None
    if request.method == "POST" and form.is_valid():
        detail = assessment_detail_open(
            actor=request_user(request),
            assessment_id=assessment.pk,
            reason=form.cleaned_data["reason"],
        )
    context: dict[str, Any] = {
        "a": assessment,
        "may_read": may_read,
        "is_author": request.user.is_authenticated
        and assessment_is_author(actor=request.user, assessment=assessment),
        "form": form,
        "detail": detail,
    }
    return render(request, "assessments/detail.html", context)


FORM_FIELD = {"subject": "subject", "title": "title", "summary": "summary"}


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def assessment_new(request: HttpRequest) -> HttpResponse:
    if not assessing_organisations(request.user):
        raise Http404
    form = AssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        findings = (
            [
                FindingInput(
                    d["finding_title"], d["finding_severity"] or "low", "open", d["finding_detail"]
                )
            ]
            if d["finding_title"]
            else []
        )
        try:
            assessment = assessment_create(
                actor=request_user(request),
                subject_slug=d["subject"],
                title=d["title"],
                summary=d["summary"],
                threat_models=[
                    ThreatModelInput(
                        threat_model=d["threat_model"],
                        custom_name=d["custom_name"],
                        scope=d["scope"],
                        method=d["method"],
                        started_on=d["started_on"],
                        ended_on=d["ended_on"],
                        claim=d["claim"],
                        remediation=d["remediation"],
                        detail=d["detail"],
                        findings=findings,
                    )
                ],
            )
        except InvalidInput as exc:
            for error in exc.errors:
                name = error.field.rsplit(".", 1)[-1]
                form.add_error(
                    name if name in form.fields else None, f"{error.field}: {error.reason}"
                )
        else:
            messages.success(request, "Draft saved. Publish it when it is ready.")
            return redirect("assessments:detail", assessment_id=assessment.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "assessments/new.html", {"form": form}, status=status)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages(back="assessments:detail", back_kwargs=("assessment_id",))
def assessment_publish_view(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment_publish(actor=request_user(request), assessment_id=assessment_id)
    messages.success(request, "Assessment published.")
    return redirect("assessments:detail", assessment_id=assessment_id)
