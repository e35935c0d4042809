"""Artifact pages: the index of the registry's artifacts, and the lineage graph.

Apps above artifacts add sections to the page (the reports app's forensic-report form): the
root URL conf passes them in as `sections`, since this app may not import those apps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from modelcvd.artifacts.forms import ArtifactFilterForm
from modelcvd.artifacts.lineage import lineage_of
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import (
    artifact_get_visible,
    artifact_list_filtered,
    artifact_list_visible,
)
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import form_errors

PAGE_SIZE = 25

# Renders one section of the lineage page for this request ("" to show nothing).
LineageSection = Callable[[HttpRequest, Artifact], str]


@domain_errors_as_pages
def artifact_index(request: HttpRequest, sections: Sequence[LineageSection] = ()) -> HttpResponse:
    """The artifacts the visitor may see (artifacts/access.py: those in some program's scope
    for everyone, the rest for their coordinators), filtered by provider and name. `sections`
    are the lineage page's (the URL conf passes them to every artifact page); none shows here."""
    form = ArtifactFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "errors": form_errors(form), "page": None}
        return render(request, "artifacts/index.html", context, status=422)
    provider, name = form.cleaned_data["provider"], form.cleaned_data["name"]
    found = artifact_list_filtered(actor=request.user, provider=provider, name=name)
    page = Paginator(found, PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    kept = {k: v for k, v in (("provider", provider), ("name", name)) if v}
    context = {
        "form": form,
        "errors": [],
        "page": page,
        "previous": urlencode({**kept, "page": page.number - 1}) if page.has_previous() else "",
        "next": urlencode({**kept, "page": page.number + 1}) if page.has_next() else "",
    }
    return render(request, "artifacts/index.html", context)


@domain_errors_as_pages
def artifact_lineage(
    request: HttpRequest, artifact_id: int, sections: Sequence[LineageSection] = ()
) -> HttpResponse:
    artifact = artifact_get_visible(actor=request.user, artifact_id=artifact_id)
    graph = lineage_of(artifact, visible=artifact_list_visible(actor=request.user))
    context = {
        "artifact": artifact,
        "lineage": graph,
        "rows": graph.rows(),
        "sections": [section(request, artifact) for section in sections],
    }
    return render(request, "artifacts/lineage.html", context)
