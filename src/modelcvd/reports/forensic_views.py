"""The coordinators' one-click forensic report: its section on an artifact's lineage page and
the form's target. The lineage page belongs to the artifacts app, which sits below the apps
that file reports; the root URL conf hands it `lineage_forensics_section` to render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import artifact_get_visible, artifact_list_visible
from modelcvd.core.errors import NotFound
from modelcvd.policy.selectors import program_list
from modelcvd.reports.forensic_forms import ForensicReportForm
from modelcvd.reports.services.forensics import forensic_report_request
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import request_user


def _forensic_form(
    request: HttpRequest, artifact_id: int, data: object = None
) -> ForensicReportForm | None:
    user = request.user
    # The same rule the forensics service enforces: coordinators of this artifact only.
    if not isinstance(user, User) or not (
        Artifact.objects.restrict(user, "coordinate").filter(pk=artifact_id).exists()
    ):
        return None
    bases = [
        (a.pk, str(a))
        for a in artifact_list_visible(actor=user).exclude(local_dir="").exclude(pk=artifact_id)
    ]
    programs = [(p.slug, p.name) for p in program_list().filter(accepts_reports=True)]
    return ForensicReportForm(data, bases=bases, programs=programs)


def lineage_forensics_section(request: HttpRequest, artifact: Artifact) -> SafeString:
    """The form on the lineage page; empty for anyone but the artifact's coordinators."""
    form = _forensic_form(request, artifact.pk)
    if form is None:
        return SafeString("")
    context = {"artifact": artifact, "form": form}
    return SafeString(render_to_string("reports/_forensics.html", context, request=request))


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages(back="artifacts:lineage", back_kwargs=("artifact_id",))
def artifact_forensic_report(request: HttpRequest, artifact_id: int) -> HttpResponse:
    user = request_user(request)
    derived = artifact_get_visible(actor=user, artifact_id=artifact_id)
    form = _forensic_form(request, artifact_id, request.POST)
    if form is None:
        raise NotFound()
    if not form.is_valid():
        messages.error(request, "Choose a base with a local copy and a program.")
        return redirect("artifacts:lineage", artifact_id=artifact_id)
    base = artifact_get_visible(actor=user, artifact_id=form.cleaned_data["base_id"])
    forensic_report_request(
        actor=user, program=form.cleaned_data["program"], base=base, derived=derived
    )
    messages.success(
        request,
        f"Forensics queued against {base}: a report is filed if {derived} is safety-stripped.",
    )
    return redirect("artifacts:lineage", artifact_id=artifact_id)
