"""The advisories section of the case page, rendered by the app that owns advisories, so the
case page needs no import of this app (advisories build on cases, not the other way)."""

from __future__ import annotations

from typing import Any

from django import template

from modelcvd.advisories.selectors import case_advisories
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import CaseAccess

register = template.Library()


@register.inclusion_tag("advisories/_case_section.html")
def case_advisories_section(case: Case, access: CaseAccess) -> dict[str, Any]:
    return {"case": case, "access": access, "advisories": case_advisories(case=case, access=access)}
