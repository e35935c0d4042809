"""The duplicates section of the case page, rendered by the app that owns duplicate proposals,
so the case page needs no import of this app (reports build on cases, not the other way)."""

from __future__ import annotations

from typing import Any

from django import template

from modelcvd.cases.models import Case
from modelcvd.cases.selectors import CaseAccess
from modelcvd.reports.dedup_views import duplicate_rows
from modelcvd.web.helpers import request_user

register = template.Library()


@register.inclusion_tag("reports/_duplicates.html", takes_context=True)
def case_duplicates_section(
    context: template.Context, case: Case, access: CaseAccess
) -> dict[str, Any]:
    """Open proposals and the merge forms, for the case's coordinators only."""
    rows = duplicate_rows(actor=request_user(context["request"]), case=case) if access.staff else []
    return {"case": case, "access": access, "duplicates": rows}
