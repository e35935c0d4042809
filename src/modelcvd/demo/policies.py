"""Demo data for issue #6: program policies with security.txt and deadlines, a second program
with abstract-first intake and held-out benchmark payloads, and a scored case under an active
embargo. Called from demo_load; idempotent like the rest of the demo."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from modelcvd.accounts.models import Organisation, User
from modelcvd.cases.models import Case, Embargo
from modelcvd.cases.services import case_score, embargo_agree, embargo_propose
from modelcvd.policy.models import Program

SAFE_HARBOR = (
    "We consider research under this policy authorised. We will not pursue or support legal "
    "action against you for good-faith research that follows it, and we will not enforce our "
    "AI usage policies or terms of service (account suspension, bans, claims) against it."
)


def seed_policies(*, users: dict[str, User], acme: Organisation) -> int:
    """Returns the number of objects created."""
    created = 0
    modelcert = Program.objects.get(slug="modelcert")
    if not modelcert.security_contacts:
        modelcert.security_contacts = "mailto:security@modelcert.invalid"
        modelcert.safe_harbor = SAFE_HARBOR
        modelcert.scope_endpoints = "https://api.globex.invalid/v1/chat/completions"
        modelcert.out_of_scope = (
            "Denial of service and load testing; social engineering of staff; findings that "
            "need access to another user's account or data."
        )
        modelcert.preferred_languages = "en, de"
        modelcert.is_default = not Program.objects.filter(is_default=True).exists()
        modelcert.save()
    benchmark, made = Program.objects.get_or_create(
        slug="acme-benchmark",
        defaults={
            "organisation": acme,
            "name": "Acme held-out safety benchmark",
            "policy_text": (
                "Findings that are also items of Acme's held-out safety benchmark. Send the "
                "abstract first; a triager confirms scope before you upload the payload."
            ),
            "safe_harbor": SAFE_HARBOR,
            "security_contacts": "mailto:vdp@acme.invalid",
            "abstract_first": True,
            "benchmark_holdout": True,
            "acknowledge_business_days": 3,
            "triage_business_days": 10,
            "remediation_days": {"critical": 14, "high": 45, "medium": 90, "low": 180},
        },
    )
    created += made
    if made:
        benchmark.scope.set(modelcert.scope.filter(vendor=acme))

    case = (
        Case.objects.filter(program=modelcert, vendor_notified_at__isnull=False)
        # An open case: an embargo on a disclosed one would contradict its own state.
        .exclude(state__in=["disclosed", "closed", "withheld"])
        .order_by("created_at")
        .first()
    )
    if case is not None and not case.tier:
        case_score(
            case_id=case.pk,
            actor=users["triager"],
            cvss_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:L/SA:N",
            rubric={"access": "open_weights"},
            ssvc_triage={
                "report_public": "N",
                "supplier_contacted": "Y",
                "report_credibility": "C",
                "supplier_cardinality": "O",
                "supplier_engagement": "A",
                "utility": "E",
                "public_safety_impact": "M",
            },
        )
        created += 1
    if case is not None and not Embargo.objects.filter(case=case).exists():
        embargo_propose(
            case_id=case.pk,
            actor=users["triager"],
            public_date=timezone.now() + timedelta(days=60),
            reason="demo: 60 days for Acme to ship a fixed model version",
        )
        embargo_agree(case_id=case.pk, actor=users["acme"])
        created += 1
    return created
