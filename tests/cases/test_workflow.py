"""The state machine, exhaustively: every (state, target) pair through the real API."""

from __future__ import annotations

from typing import Any

import pytest

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.workflow import (
    TRANSITIONS,
    VENDOR_TRANSITIONS,
    CaseState,
    allowed_targets,
    targets_for,
)
from tests.factories import World

PAIRS = [(s, t) for s in CaseState for t in CaseState]


def test_every_state_has_an_entry_and_closed_is_terminal() -> None:
    assert set(TRANSITIONS) == set(CaseState)
    assert TRANSITIONS[CaseState.CLOSED] == frozenset()
    assert all(pair[1] in TRANSITIONS[pair[0]] for pair in VENDOR_TRANSITIONS)


def test_every_state_is_reachable_from_received() -> None:
    seen, frontier = {CaseState.RECEIVED}, [CaseState.RECEIVED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(CaseState)


@pytest.mark.parametrize(
    ("state", "target"), PAIRS, ids=[f"{s.value}->{t.value}" for s, t in PAIRS]
)
def test_transition_pair(world: World, api_as: Any, state: CaseState, target: CaseState) -> None:
    case = world.cases["b"]
    Case.objects.filter(pk=case.pk).update(state=state.value)
    events_before = TimelineEvent.objects.filter(case=case).count()
    body: dict[str, Any] = {"to": target.value, "reason": "test"}
    if target == CaseState.FIX_AVAILABLE:
        # The fix step names the fixing version (tests/advisories/test_statuses.py).
        body["fixed_version"] = {"version_label": "2026-10"}
    response = api_as("triager").post(f"/api/v1/cases/{case.pk}/transition", body)
    case.refresh_from_db()
    if target in TRANSITIONS[state]:
        assert response.status_code == 200, response.content
        assert response.json()["state"] == target.value
        assert case.state == target.value
        last = TimelineEvent.objects.filter(case=case).last()
        assert last is not None
        assert (last.from_state, last.to_state, last.reason) == (state.value, target.value, "test")
    else:
        assert response.status_code == 409, response.content
        assert response.json() == {
            "detail": f"cannot go from {state.value!r} to {target.value!r}",
            "current": state.value,
            "allowed": [t.value for t in allowed_targets(state)],
        }
        assert case.state == state.value
        assert TimelineEvent.objects.filter(case=case).count() == events_before


def test_targets_for_parties() -> None:
    assert targets_for(CaseState.VENDOR_NOTIFIED, staff=False, vendor=True) == ["remediating"]
    assert targets_for(CaseState.RECEIVED, staff=False, vendor=True) == []
    assert targets_for(CaseState.RECEIVED, staff=False, vendor=False) == []
