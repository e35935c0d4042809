"""What the navigation shows: only the pages the signed-in user's roles can use (a vendor
sees its cases, not an empty triage queue; a coordinator sees the queue)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from modelcvd.accounts.selectors import roles_of
from modelcvd.vocabulary import Role


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    roles = roles_of(user)
    staff = bool(roles & {Role.TRIAGER, Role.ADMIN})
    # Anyone signed in may report; reporters' own pages only for those who report.
    reporter = Role.RESEARCHER in roles or not roles
    return {
        "nav": {
            "cases": True,
            "triage": staff,
            "report": reporter or staff,
            "my_reports": reporter,
            "credits": reporter,
            # Organisations register verification targets: vendors and coordinators.
            "targets": staff or Role.VENDOR_MEMBER in roles,
        }
    }
