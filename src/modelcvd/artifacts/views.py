"""Artifact pages: the lineage graph.

Apps above artifacts add sections to the page (the reports app's forensic-report form): the
root URL conf passes them in as `sections`, since this app may not import those apps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from modelcvd.artifacts.lineage import lineage_of
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import artifact_get_visible, artifact_list_visible
from modelcvd.web.errors import domain_errors_as_pages

# Renders one section of the lineage page for this request ("" to show nothing).
LineageSection = Callable[[HttpRequest, Artifact], str]


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
