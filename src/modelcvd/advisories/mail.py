"""The publication e-mail: one message per recipient, each rendered at that recipient's level
(capped at defender: SMTP is not a sealed channel, so no reproduction ever goes by mail).
Plain text only: advisory text comes from reports, and reports are hostile."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q

from modelcvd.accounts.models import Membership, Role, User
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.render import advisory_render, advisory_url, version_line, version_rows
from modelcvd.policy.disclosure import Channel


def advisory_text(view: dict[str, Any]) -> str:
    """A rendered view as plain text: the e-mail body (and what the feed summarises)."""
    lines = [f"{view['id']}: {view['title']}", "", view["summary"], ""]
    technique = view["technique"]
    lines.append(
        f"Technique: {technique['atlas']} {technique['atlas_name']}; {technique['owasp']} {technique['owasp_name']}"
    )
    lines.append(f"Harm category: {view['harm_category']['name']}")
    if view["severity"]:
        severity = view["severity"]
        lines.append(
            f"Severity: {severity['rating']} ({severity['score']}, {severity['cvss_vector']})"
        )
    lines.append("Versions:")
    lines += [f"- {version_line(row)}" for row in version_rows(view)]
    if view.get("cve_id"):
        lines.append(f"CVE: {view['cve_id']}")
    if view["aliases"]:
        lines.append(f"Aliases: {', '.join(view['aliases'])}")
    if view["mitigations"]:
        lines += ["", "Mitigations:", view["mitigations"]]
    for m in view.get("measurements") or []:
        # Counts, exact interval and origin (replayed here, or reported by a named source).
        lines.append(f"Measured on {m['artifact']}: {m['text']}")
    if view.get("mitigation_details"):
        lines += ["", "Detailed mitigations:", view["mitigation_details"]]
    if view.get("detection_indicators"):
        lines += ["", "Detection indicators:", *(f"- {i}" for i in view["detection_indicators"])]
    if view["credits"]:
        lines += ["", "Credits: " + ", ".join(c["name"] for c in view["credits"])]
    for ref in view["references"]:
        lines.append(f"Reference: {ref['url']}")
    if view["commitment"]:
        lines += ["", f"Payload commitment: {view['commitment']}"]
    lines += ["", f"Disclosure level of this message: {view['disclosure_level']}"]
    return "\n".join(lines) + "\n"


def _recipients(advisory: Advisory) -> list[User]:
    """The case's reporters, its coordinators, the vendors of its artifacts, and defenders."""
    case = advisory.case
    vendor_orgs = advisory.artifacts.exclude(vendor=None).values("vendor_id")
    member_ids = Membership.objects.filter(
        role=Role.VENDOR_MEMBER, organisation_id__in=vendor_orgs
    ).values("user_id")
    staff_ids = Membership.objects.filter(
        role=Role.TRIAGER, organisation_id=case.program.organisation_id
    ).values("user_id")
    defender_ids = Membership.objects.filter(role=Role.DEFENDER).values("user_id")
    reporter_ids = case.reports.values("reporter_id")
    users = User.objects.filter(is_active=True).exclude(email="")
    return list(
        users.filter(
            Q(pk__in=member_ids)
            | Q(pk__in=staff_ids)
            | Q(pk__in=defender_ids)
            | Q(pk__in=reporter_ids)
        ).order_by("pk")
    )


def advisory_published_notify(*, advisory_pk: int) -> int:
    """Mail each party the published advisory at their own level. Returns messages sent."""
    advisory = Advisory.objects.select_related("case__program").filter(pk=advisory_pk).first()
    if advisory is None or advisory.state != Advisory.State.PUBLISHED:
        return 0
    messages = []
    for user in _recipients(advisory):
        view = advisory_render(advisory=advisory, actor=user, channel=Channel.EMAIL)
        body = advisory_text(view) + f"\n{advisory_url(advisory.advisory_id)}\n"
        messages.append(
            EmailMessage(
                # One line: a title with a newline would be a header injection.
                subject=f"[modelcvd] Published: {advisory.advisory_id} {' '.join(view['title'].split())}"[
                    :200
                ],
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
            )
        )
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0
