"""The vendor grid follows the fix step (found by the browser walk: a vendor named the fixed
version and its row still read "No response"): "Fixed" once every model of that vendor's in
the case has a fixing version, never over a vendor's own other statement."""

from __future__ import annotations

from modelcvd.cases.models import CaseVendor, TimelineEvent
from modelcvd.cases.services import (
    FixedVersion,
    case_transition,
    case_vendor_status_set,
)
from modelcvd.vocabulary import CaseState, VendorCaseStatus
from tests.factories import World


def _to_fix_available(world: World, case_id: int, **fixed: str) -> None:
    # Case A is notified in the world; its vendor remediates and names the fix.
    staff = world.users["triager"]
    case_transition(case_id=case_id, actor=staff, to=CaseState.REMEDIATING, reason="step")
    case_transition(
        case_id=case_id,
        actor=world.users["vendor_a"],
        to=CaseState.FIX_AVAILABLE,
        reason="fixed",
        fixed_version=FixedVersion(**fixed),
    )


def test_the_fix_step_marks_the_vendor_fixed(world: World) -> None:
    case = world.reports["a"].case
    _to_fix_available(world, case.pk, revision="d" * 40, version_label="v1.1")
    party = CaseVendor.objects.get(case=case, organisation=world.orgs["vendor_a"])
    assert party.status == VendorCaseStatus.FIXED
    assert TimelineEvent.objects.filter(
        case=case, kind="vendor_status", reason__contains="Fixed (every model"
    ).exists()


def test_a_vendors_own_statement_is_not_overwritten(world: World) -> None:
    case = world.reports["a"].case
    case_vendor_status_set(
        case_id=case.pk,
        organisation=world.orgs["vendor_a"].slug,
        status=VendorCaseStatus.NOT_AFFECTED,
        actor=world.users["vendor_a"],
    )
    _to_fix_available(world, case.pk, revision="d" * 40)
    party = CaseVendor.objects.get(case=case, organisation=world.orgs["vendor_a"])
    assert party.status == VendorCaseStatus.NOT_AFFECTED
