"""The SQL that builds metrics.CaseFact from the timeline; metrics.services runs it for a few
cases (called by every service that changes a case's timeline, tier, state or runs) or for all
of them (`metrics_rebuild`, after a bulk load or a change of targets).

Milestones are the FIRST transition into a state; receipt is the `opened` event. Deadlines:
acknowledge and triage run from receipt, remediation (to fix available) and disclosure from
vendor notification (receipt while there is none), for valid, scored cases only. Due instants
follow policy.deadlines exactly for calendar days, and for business days on the default
calendar (UTC, Saturday and Sunday off, no holidays, no pauses): the offsets per weekday are
read off `policy.deadlines.due_at` itself (see `allowed_seconds_sql`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.db import connection

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.workflow import CaseState
from modelcvd.metrics.models import CaseFact
from modelcvd.policy.deadlines import BusinessDays, CalendarDays, DeadlinePolicy, Duration, due_at
from modelcvd.policy.models import Program
from modelcvd.policy.selectors import program_policy
from modelcvd.scoring.tier import Tier
from modelcvd.verification.models import VerificationRun, VerificationTrial

DAY = 86_400
TRIAGED = (CaseState.VALID, CaseState.INVALID, CaseState.DUPLICATE, CaseState.OUT_OF_SCOPE)
NOT_OPEN = (
    CaseState.CLOSED,
    CaseState.DISCLOSED,
    CaseState.INVALID,
    CaseState.DUPLICATE,
    CaseState.OUT_OF_SCOPE,
)
# A Monday well in the past: the reference week for business-day offsets.
_REFERENCE_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)


def _epoch(expr: str) -> str:
    """Whole epoch seconds of a timestamp, in the database's own dialect."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"
    return f"CAST(strftime('%%s', {expr}) AS INTEGER)"


def _month(epoch_expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(to_char(to_timestamp({epoch_expr}) AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)"
    return f"CAST(strftime('%%Y%%m', {epoch_expr}, 'unixepoch') AS INTEGER)"


@functools.lru_cache(maxsize=256)
def allowed_seconds_sql(duration: Duration, start: str) -> str:
    """SQL for the seconds allowed between `start` (an epoch-seconds expression) and its due
    instant.

    Calendar days: N whole days (UTC days are all 86,400 s). Business days on the default
    calendar: from a business day the due instant keeps the wall-clock time, a whole number of
    days later that depends on the weekday only (from exactly midnight, the end of the last
    counted day); from a weekend day it is a fixed midnight.
    Both are read off `due_at` for one reference week, so this SQL agrees with it by
    construction; tests/metrics/test_facts.py checks it against `due_at` on many instants.
    """
    if isinstance(duration, CalendarDays):
        return str(duration.days * DAY)
    assert isinstance(duration, BusinessDays)
    branches = []
    for weekday in range(7):
        midnight = _REFERENCE_MONDAY + timedelta(days=weekday)
        probe = midnight + timedelta(hours=12)
        due = due_at(probe, duration)
        if weekday < 5:
            # From exactly midnight due_at lands on the earliest equivalent instant (the end
            # of the last counted day, e.g. Saturday 00:00 rather than Monday 00:00).
            at_midnight = int((due_at(midnight, duration) - midnight).total_seconds())
            during_day = int((due - probe).total_seconds())
            branches.append(
                f"WHEN {weekday} THEN CASE WHEN ({start}) %% {DAY} = 0 THEN {at_midnight} "
                f"ELSE {during_day} END"
            )
        else:
            seconds = int((due - midnight).total_seconds())
            branches.append(f"WHEN {weekday} THEN {seconds} - (({start}) %% {DAY})")
    # 1970-01-01 was a Thursday (weekday 3).
    return f"(CASE ((({start}) / {DAY}) + 3) %% 7 {' '.join(branches)} END)"


def _per_program(
    policies: dict[int, DeadlinePolicy], pick: Callable[[DeadlinePolicy], Duration], start: str
) -> str:
    """CASE over programs, grouped by identical durations, of the allowed seconds."""
    by_sql: dict[str, list[int]] = defaultdict(list)
    for program_id, policy in policies.items():
        by_sql[allowed_seconds_sql(pick(policy), start)].append(program_id)
    if not by_sql:
        return "NULL"
    if len(by_sql) == 1:
        return next(iter(by_sql))
    whens = " ".join(
        f"WHEN program_id IN ({', '.join(str(i) for i in ids)}) THEN {sql}"
        for sql, ids in by_sql.items()
    )
    return f"(CASE {whens} END)"


def _per_tier(policies: dict[int, DeadlinePolicy], table: str, start: str) -> str:
    whens = []
    for tier in Tier:

        def pick(p: DeadlinePolicy, t: Tier = tier) -> Duration:
            durations: dict[Tier, Duration] = getattr(p, table)
            return durations[t]

        whens.append(f"WHEN tier = '{tier.value}' THEN {_per_program(policies, pick, start)}")
    return f"(CASE {' '.join(whens)} END)"


def _in(values: Iterable[CaseState]) -> str:
    return ", ".join(f"'{CaseState(v).value}'" for v in values)


COLUMNS = (
    "case_id, program_id, tier, is_open, triaged, valid, duplicate, received, received_month, "
    "ack_s, triage_s, fix_s, disclose_s, ack_due, triage_due, remediate_due, disclose_due, "
    "ack_state, triage_state, remediate_state, disclose_state, "
    "before_successes, before_trials, after_successes, after_trials"
)


def _state(duration: str, due: str) -> str:
    """The deadline's outcome as far as it is settled: see CaseFact.State."""
    return (
        f"CASE WHEN {due} IS NULL THEN NULL WHEN {duration} IS NULL THEN 0 "
        f"WHEN received + {duration} <= {due} THEN 1 ELSE 2 END"
    )


def facts_insert_sql(policies: dict[int, DeadlinePolicy], where: str, where_runs: str) -> str:
    """INSERT ... SELECT of the facts of the cases `where` selects (on `c`, the case) and
    `where_runs` (the same cases, on `r`, their verification runs)."""
    run_t = VerificationRun._meta.db_table
    trial_t = VerificationTrial._meta.db_table
    link_t = Case.artifacts.through._meta.db_table
    case_t = Case._meta.db_table
    event_t = TimelineEvent._meta.db_table
    fact_t = CaseFact._meta.db_table
    transition = TimelineEvent.Kind.TRANSITION.value

    def first(states: str) -> str:
        return f"MIN(CASE WHEN e.kind = '{transition}' AND e.to_state IN ({states}) THEN e.at END)"

    vendor_clock = "COALESCE(notified, received)"
    applies = "valid = 1 AND tier <> ''"
    return f"""
INSERT INTO {fact_t} ({COLUMNS})
SELECT case_id, program_id, tier, is_open, triaged, valid, duplicate, received, received_month,
  ack_s, triage_s, fix_s, disclose_s, ack_due, triage_due, remediate_due, disclose_due,
  {_state("ack_s", "ack_due")}, {_state("triage_s", "triage_due")},
  {_state("fix_s", "remediate_due")}, {_state("disclose_s", "disclose_due")},
  bk, bn, ak, an
FROM (
SELECT m.case_id AS case_id, program_id, tier, is_open = 1 AS is_open,
  triage IS NOT NULL AS triaged, valid = 1 AS valid,
  duplicate = 1 AND valid = 0 AS duplicate, received, {_month("received")} AS received_month,
  ack - received AS ack_s, triage - received AS triage_s, fixed - received AS fix_s,
  disclosed - received AS disclose_s,
  received + {_per_program(policies, lambda p: p.acknowledge, "received")} AS ack_due,
  received + {_per_program(policies, lambda p: p.triage, "received")} AS triage_due,
  CASE WHEN {applies} THEN {vendor_clock} + {_per_tier(policies, "remediation", vendor_clock)} END
    AS remediate_due,
  CASE WHEN {applies} THEN {vendor_clock} + {_per_tier(policies, "disclosure", vendor_clock)} END
    AS disclose_due,
  COALESCE(v.bk, 0) AS bk, COALESCE(v.bn, 0) AS bn, COALESCE(v.ak, 0) AS ak,
  COALESCE(v.an, 0) AS an
FROM (
  SELECT case_id, program_id, tier, valid, duplicate,
    CASE WHEN state IN ({_in(NOT_OPEN)}) THEN 0 ELSE 1 END AS is_open,
    {_epoch("received_at")} AS received, {_epoch("ack_at")} AS ack,
    {_epoch("triage_at")} AS triage, {_epoch("notified_at")} AS notified,
    {_epoch("fixed_at")} AS fixed, {_epoch("disclosed_at")} AS disclosed
  FROM (
    SELECT c.id AS case_id, c.program_id AS program_id, c.state AS state, c.tier AS tier,
      COALESCE(MIN(CASE WHEN e.kind = 'opened' THEN e.at END), c.created_at) AS received_at,
      {first(_in([CaseState.ACKNOWLEDGED]))} AS ack_at,
      {first(_in(TRIAGED))} AS triage_at,
      {first(_in([CaseState.VENDOR_NOTIFIED]))} AS notified_at,
      {first(_in([CaseState.FIX_AVAILABLE]))} AS fixed_at,
      {first(_in([CaseState.DISCLOSED]))} AS disclosed_at,
      MAX(CASE WHEN e.to_state = '{CaseState.VALID.value}' THEN 1 ELSE 0 END) AS valid,
      MAX(CASE WHEN e.to_state = '{CaseState.DUPLICATE.value}' THEN 1 ELSE 0 END) AS duplicate
    FROM {case_t} c LEFT JOIN {event_t} e ON e.case_id = c.id
    {where}
    GROUP BY c.id, c.program_id, c.state, c.tier, c.created_at
  ) m0
) m
LEFT JOIN (
  SELECT case_id,
    SUM(CASE WHEN affected = 1 THEN k ELSE 0 END) AS bk,
    SUM(CASE WHEN affected = 1 THEN n ELSE 0 END) AS bn,
    SUM(CASE WHEN affected = 0 THEN k ELSE 0 END) AS ak,
    SUM(CASE WHEN affected = 0 THEN n ELSE 0 END) AS an
  FROM (
    SELECT r.case_id AS case_id,
      CASE WHEN EXISTS (SELECT 1 FROM {link_t} ca
                        WHERE ca.case_id = r.case_id AND ca.artifact_id = r.artifact_id)
           THEN 1 ELSE 0 END AS affected,
      COUNT(t.id) AS n, SUM(CASE WHEN t.success THEN 1 ELSE 0 END) AS k
    FROM {run_t} r JOIN {trial_t} t ON t.run_id = r.id
    WHERE r.state = '{VerificationRun.State.FINISHED.value}' {where_runs}
    GROUP BY r.id, r.case_id, r.artifact_id
  ) runs
  GROUP BY case_id
) v ON v.case_id = m.case_id
) f
"""  # noqa: S608 - only this module's constants and table names; values are parameters


def program_policies() -> dict[int, DeadlinePolicy]:
    """Every program's deadline targets, as the cases' own due dates use them. When a program
    changes them, policy.services.program_policy_update asks for `program_projections_rebuild`."""
    return {p.pk: program_policy(p) for p in Program.objects.all()}
