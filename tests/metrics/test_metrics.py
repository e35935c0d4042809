"""The metrics against values computed by hand from tests/metrics/dataset.py.

Hand computation (hours from receipt):
  acknowledge: c1 4, c2 97, c3 48, c4 1, c5 1 -> sorted 1 1 4 48 97
      overall median = 4; p90 at rank 0.9*4 = 3.6 -> 48 + 0.6*(97-48) = 77.4
      alpha 1 4 48 97: median at 1.5 -> 4 + 0.5*44 = 26; p90 at 2.7 -> 48 + 0.7*49 = 82.3
      beta 1: median = p90 = 1
  triage: c1 24, c2 120, c3 50, c4 2, c5 2 -> 2 2 24 50 120: median 24; p90 50 + 0.6*70 = 92
  remediate (fix available): c1 only, 12 days = 288; disclose: c1 only, 18 days = 432
Counts: received 6 (alpha 4, beta 2); triaged 5 (4, 1); valid c1 c2 c5 = 3 -> 0.6 (0.5, 1.0);
  duplicate c3 -> 0.2 (0.25, 0).
Deadlines (2 business days to acknowledge, 5 to triage; high 60/90 days, critical 30/90):
  c2 received Fri 17:00 -> acknowledge due Tue 17:00, acknowledged Tue 18:00: missed.
  c3 received Sat 10:00 -> due Wed 00:00, acknowledged Mon 10:00: met.
  c6 received Mon 03-30 12:00 -> due Wed 04-01 12:00, after as_of: pending (both).
  remediation: c1 (high) fixed 10 days after notice: met; c5 (high) notified 01-05 12:00, due
  03-06 12:00, no fix: missed; c2 (critical) due 04-11: pending.
  disclosure: c1 met; c2, c5 pending.
Open by age at as_of: c6 1 day (0-7), c2 24.8 days (8-30), c5 85.1 days (31-90).
Exploit: alpha before 7/10 after 1/10; beta 10/20 -> 0/20; overall 17/30 -> 1/30 (2 cases).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from modelcvd.metrics.export import metrics_csv, metrics_json
from modelcvd.metrics.selectors import ComplianceRow, metrics_compute
from tests.metrics.dataset import AS_OF, build_dataset

pytestmark = pytest.mark.django_db


def _times(pm):
    return {t.metric: (t.count, t.median_hours, t.p90_hours) for t in pm.times}


def _compliance(pm):
    return {(r.tier, r.deadline): (r.met, r.missed, r.pending) for r in pm.compliance}


def test_overall_against_hand_computed_values() -> None:
    build_dataset()
    m = metrics_compute(as_of=AS_OF)
    o = m.overall
    assert (o.received, o.triaged, o.valid, o.duplicate) == (6, 5, 3, 1)
    assert o.valid_rate == pytest.approx(0.6)
    assert o.duplicate_rate == pytest.approx(0.2)
    times = _times(o)
    assert times["acknowledge"][0] == 5
    assert times["acknowledge"][1] == pytest.approx(4)
    assert times["acknowledge"][2] == pytest.approx(77.4)
    assert times["triage"][1:] == pytest.approx((24, 92))
    assert times["remediate"] == pytest.approx((1, 288, 288))
    assert times["disclose"] == pytest.approx((1, 432, 432))
    assert _compliance(o) == {
        ("critical", "acknowledge"): (0, 1, 0),
        ("critical", "triage"): (1, 0, 0),
        ("critical", "remediate"): (0, 0, 1),
        ("critical", "disclose"): (0, 0, 1),
        ("high", "acknowledge"): (2, 0, 0),
        ("high", "triage"): (2, 0, 0),
        ("high", "remediate"): (1, 1, 0),
        ("high", "disclose"): (1, 0, 1),
        ("low", "acknowledge"): (1, 0, 0),
        ("low", "triage"): (1, 0, 0),
        ("unscored", "acknowledge"): (1, 0, 1),
        ("unscored", "triage"): (1, 0, 1),
    }
    assert ComplianceRow("high", "remediate", 1, 1, 0).rate == 0.5
    assert o.open_by_age == {
        "0-7 days": 1,
        "8-30 days": 1,
        "31-90 days": 1,
        "91-180 days": 0,
        "over 180 days": 0,
    }
    assert dict(o.monthly)["2026-01"] == 1
    assert dict(o.monthly)["2026-03"] == 5
    assert len(o.monthly) == 12 and o.monthly[-1][0] == "2026-03"
    e = o.exploit
    assert (e.cases, e.before_successes, e.before_trials, e.after_successes, e.after_trials) == (
        2,
        17,
        30,
        1,
        30,
    )
    assert e.reduction == pytest.approx(16 / 30)


def test_per_program_against_hand_computed_values() -> None:
    build_dataset()
    m = metrics_compute(as_of=AS_OF)
    alpha, beta = m.programs
    assert alpha.slug == "alpha" and beta.slug == "beta"
    assert (alpha.received, alpha.triaged, alpha.valid, alpha.duplicate) == (4, 4, 2, 1)
    assert alpha.duplicate_rate == pytest.approx(0.25)
    assert _times(alpha)["acknowledge"] == pytest.approx((4, 26, 82.3))
    assert _times(beta)["acknowledge"] == pytest.approx((1, 1, 1))
    assert _times(beta)["remediate"] == (0, None, None)
    assert (beta.received, beta.triaged, beta.valid_rate) == (2, 1, 1.0)
    assert _compliance(beta)[("high", "remediate")] == (0, 1, 0)
    assert alpha.exploit.reduction == pytest.approx(0.6)
    assert beta.exploit.reduction == pytest.approx(0.5)
    assert alpha.open_by_age["8-30 days"] == 1 and alpha.open_total == 1
    assert beta.open_total == 2


def test_one_program_only() -> None:
    build_dataset()
    m = metrics_compute(program_slug="alpha", as_of=AS_OF)
    assert [p.slug for p in m.programs] == ["alpha"]
    assert m.overall.received == 4
    assert _times(m.overall)["acknowledge"] == pytest.approx((4, 26, 82.3))


def test_exports_carry_the_same_numbers() -> None:
    build_dataset()
    m = metrics_compute(as_of=AS_OF)
    data = json.loads(metrics_json(m))
    assert data["overall"]["received"] == 6
    assert data["overall"]["times"]["acknowledge"]["p90_hours"] == pytest.approx(77.4)
    assert data["programs"][0]["slug"] == "alpha"
    rows = list(csv.DictReader(io.StringIO(metrics_csv(m))))
    wanted = [
        r
        for r in rows
        if r["program"] == "" and r["section"] == "time" and r["key"] == "acknowledge"
    ]
    assert float(wanted[0]["p90_hours"]) == pytest.approx(77.4)
