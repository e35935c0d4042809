"""Demo credits and a bounty on the demo history's disclosed cases: finders under their public
names (carol as her pseudonym "kestrel"), an analyst, a tool, one credit accepted but unlisted
(the opt-out), and one pending for alice ("nightjar") to answer on her "My credits" page."""

from __future__ import annotations

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case
from modelcvd.credits.models import Bounty, Credit
from modelcvd.credits.services import bounty_award, credit_grant, credit_respond


def seed_demo(*, cases: list[Case], triager: User, alice: User) -> None:
    disclosed = [c for c in cases if c.timeline.filter(to_state="disclosed").exists()]
    if not disclosed or Credit.objects.filter(case__in=disclosed).exists():
        return
    for i, case in enumerate(disclosed[:6]):
        report = case.reports.select_related("reporter").first()
        if report is None:
            continue
        finder = report.reporter
        credit = credit_grant(
            actor=triager, case_id=case.pk, credit_type="finder", username=finder.username
        )
        # One finder accepts but stays off the public lists: the opt-out.
        credit_respond(actor=finder, credit_id=credit.pk, accept=True, listed=i != 1)
        if i % 2 == 0:
            credit_grant(actor=triager, case_id=case.pk, credit_type="tool", name="garak")
    credit_grant(
        actor=triager,
        case_id=disclosed[0].pk,
        credit_type="remediation_verifier",
        username=alice.username,
    )
    if not Bounty.objects.exists():
        report = disclosed[0].reports.select_related("reporter").first()
        if report is not None:
            bounty_award(
                actor=triager,
                case_id=disclosed[0].pk,
                username=report.reporter.username,
                amount="750.00",
                currency="EUR",
                note="Thank you (demo).",
            )
