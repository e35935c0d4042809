"""The lineage page's "cases and advisories" section: what names this artifact. Injected by
the root URLconf like the forensics form, because artifacts sits below cases and advisories."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.selectors import PUBLIC_STATES
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.selectors import case_list_visible


def lineage_cases_section(request: HttpRequest, artifact: Artifact) -> SafeString:
    """Published advisories that list the artifact (anyone), and the cases naming it that the
    reader may see (nobody learns of a case they could not open)."""
    advisories = Advisory.objects.filter(artifacts=artifact, state__in=PUBLIC_STATES).order_by(
        "-published_at"
    )
    cases = (
        list(case_list_visible(actor=request.user).filter(artifacts=artifact).order_by("-id")[:50])
        if request.user.is_authenticated
        else []
    )
    context = {"advisories": advisories[:50], "cases": cases}
    return SafeString(render_to_string("advisories/_lineage.html", context, request=request))
