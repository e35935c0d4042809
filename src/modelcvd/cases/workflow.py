"""The case state machine: states, the allowed transitions, and who may take each.

Pure Python. Triage outcomes are states of their own (valid, invalid, duplicate, out of scope)
so every (state, target) pair is either in TRANSITIONS or answered 409.
"""

from __future__ import annotations

# The states are the vocabulary's; importable from here as before (migrations name this path).
from modelcvd.vocabulary import CaseState as CaseState

S = CaseState
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.RECEIVED: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.VALID, S.INVALID, S.DUPLICATE, S.OUT_OF_SCOPE}),
    S.VALID: frozenset({S.VENDOR_NOTIFIED}),
    # Re-triage is allowed: a reporter's new evidence can reopen a rejected report.
    S.INVALID: frozenset({S.ACKNOWLEDGED, S.CLOSED}),
    S.DUPLICATE: frozenset({S.ACKNOWLEDGED, S.CLOSED}),
    S.OUT_OF_SCOPE: frozenset({S.ACKNOWLEDGED, S.CLOSED}),
    S.VENDOR_NOTIFIED: frozenset({S.REMEDIATING, S.DISCLOSED, S.WITHHELD}),
    # Disclosure may come without a fix once the deadline passes; that is the policy's call.
    S.REMEDIATING: frozenset({S.FIX_AVAILABLE, S.DISCLOSED, S.WITHHELD}),
    # A fix that fails verification sends the case back to remediation.
    S.FIX_AVAILABLE: frozenset({S.FIX_VERIFIED, S.REMEDIATING}),
    # A regression (a later version reproduces it again: the regression watch) reopens it.
    S.FIX_VERIFIED: frozenset({S.DISCLOSED, S.WITHHELD, S.REMEDIATING}),
    S.DISCLOSED: frozenset({S.CLOSED}),
    S.WITHHELD: frozenset({S.DISCLOSED, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# The vendor states its own progress; everything else is the coordinator's.
VENDOR_TRANSITIONS: frozenset[tuple[CaseState, CaseState]] = frozenset(
    {(S.VENDOR_NOTIFIED, S.REMEDIATING), (S.REMEDIATING, S.FIX_AVAILABLE)}
)

TRIAGE_QUEUE_STATES = frozenset({S.RECEIVED, S.ACKNOWLEDGED})


def allowed_targets(state: CaseState) -> list[CaseState]:
    return sorted(TRANSITIONS[state], key=list(CaseState).index)


def is_allowed(state: CaseState, target: CaseState) -> bool:
    return target in TRANSITIONS[state]


def targets_for(state: CaseState, *, staff: bool, vendor: bool) -> list[str]:
    """The states this party may move a case to from `state`."""
    if staff:
        return [t.value for t in allowed_targets(state)]
    if vendor:
        return [t.value for t in allowed_targets(state) if (state, t) in VENDOR_TRANSITIONS]
    return []
