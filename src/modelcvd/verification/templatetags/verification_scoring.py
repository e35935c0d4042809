"""The jailbreak figures beside the rubric, CVSS and SSVC in the case page's severity section:
transfer and universality from the case's latest transfer matrix (verification.matrix). 0DIN's
Jailbreak Evaluation Framework score is not computed: its package is not installable here
(docs/verification.md, "Jailbreak scoring")."""

from __future__ import annotations

from typing import Any

from django import template

from modelcvd.cases.models import Case
from modelcvd.cases.selectors import CaseAccess
from modelcvd.verification.matrix import matrices_for_case
from modelcvd.web.helpers import request_user

register = template.Library()


@register.inclusion_tag("verification/_jailbreak_figures.html", takes_context=True)
def case_jailbreak_figures(
    context: template.Context, case: Case, access: CaseAccess
) -> dict[str, Any]:
    if not (access.staff or access.vendor):
        return {"matrix": None, "shown": False}
    matrices = matrices_for_case(actor=request_user(context["request"]), case=case)
    return {"matrix": matrices[0] if matrices else None, "shown": True}
