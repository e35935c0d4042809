"""Deadline compliance is measured against each program's own targets, and a change of those
targets recomputes the program's facts."""

from __future__ import annotations

from typing import Any

import pytest

from modelcvd.metrics.selectors import metrics_compute
from modelcvd.policy.services import program_policy_update
from tests.factories import make_user
from tests.metrics.dataset import AS_OF, build_dataset

pytestmark = pytest.mark.django_db


def _beta_high_remediate() -> tuple[int, int, int]:
    beta = metrics_compute(as_of=AS_OF).programs[1]
    row = next(r for r in beta.compliance if (r.tier, r.deadline) == ("high", "remediate"))
    return (row.met, row.missed, row.pending)


def test_compliance_follows_the_programs_targets(django_capture_on_commit_callbacks: Any) -> None:
    build_dataset()
    # c5 (beta, high) was notified 01-05 12:00; the default 60 days passed on 03-06: missed.
    assert _beta_high_remediate() == (0, 1, 0)
    admin = make_user("metrics_admin", "admin")
    days = {"low": 180, "medium": 150, "high": 120, "critical": 60}
    with django_capture_on_commit_callbacks(execute=True):
        program_policy_update(actor=admin, slug="beta", changes={"remediation_days": days})
    # 120 days run to 05-05, after the as-of date: pending, not missed.
    assert _beta_high_remediate() == (0, 0, 1)
