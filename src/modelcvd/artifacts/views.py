"""Artifact pages: the lineage graph, and the coordinators' one-click forensic report."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import Role, User
from modelcvd.accounts.selectors import roles_of
from modelcvd.artifacts.forensic_reports import forensic_report_request
from modelcvd.artifacts.lineage import lineage_of
from modelcvd.artifacts.selectors import artifact_get_visible, artifact_list_visible
from modelcvd.core.errors import DomainError, InvalidInput, NotFound
from modelcvd.policy.selectors import program_list


class ForensicReportForm(forms.Form):
    base_id = forms.TypedChoiceField(coerce=int, label="Base artifact")
    program = forms.ChoiceField(label="Program")

    def __init__(
        self,
        *args: object,
        bases: list[tuple[int, str]],
        programs: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["base_id"].choices = bases  # type: ignore[attr-defined]
        self.fields["program"].choices = programs  # type: ignore[attr-defined]


def _forensic_form(
    request: HttpRequest, artifact_id: int, data: object = None
) -> ForensicReportForm | None:
    user = request.user
    if not isinstance(user, User) or not roles_of(user) & {Role.ADMIN, Role.TRIAGER}:
        return None
    bases = [
        (a.pk, str(a))
        for a in artifact_list_visible(actor=user).exclude(local_dir="").exclude(pk=artifact_id)
    ]
    programs = [(p.slug, p.name) for p in program_list().filter(accepts_reports=True)]
    return ForensicReportForm(data, bases=bases, programs=programs)


def artifact_lineage(request: HttpRequest, artifact_id: int) -> HttpResponse:
    try:
        artifact = artifact_get_visible(actor=request.user, artifact_id=artifact_id)
    except NotFound:
        raise Http404 from None
    graph = lineage_of(artifact, visible=artifact_list_visible(actor=request.user))
    context = {
        "artifact": artifact,
        "lineage": graph,
        "rows": graph.rows(),
        "form": _forensic_form(request, artifact_id),
    }
    return render(request, "artifacts/lineage.html", context)


@login_required
@require_http_methods(["POST"])
def artifact_forensic_report(request: HttpRequest, artifact_id: int) -> HttpResponse:
    assert isinstance(request.user, User)
    try:
        derived = artifact_get_visible(actor=request.user, artifact_id=artifact_id)
        form = _forensic_form(request, artifact_id, request.POST)
        if form is None:
            raise NotFound()
        if not form.is_valid():
            messages.error(request, "Choose a base with a local copy and a program.")
            return redirect("web:artifact_lineage", artifact_id=artifact_id)
        base = artifact_get_visible(actor=request.user, artifact_id=form.cleaned_data["base_id"])
        forensic_report_request(
            actor=request.user, program=form.cleaned_data["program"], base=base, derived=derived
        )
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
        return redirect("web:artifact_lineage", artifact_id=artifact_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:artifact_lineage", artifact_id=artifact_id)
    messages.success(
        request,
        f"Forensics queued against {base}: a report is filed if {derived} is safety-stripped.",
    )
    return redirect("web:artifact_lineage", artifact_id=artifact_id)
