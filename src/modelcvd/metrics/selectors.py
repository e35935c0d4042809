"""Response metrics, computed from the case timeline by the database.

Every number here is an aggregate: no case id, title or reporter ever leaves this module, which
is why the dashboard is public (see docs/metrics.md). The work is done in SQL, in two
statements whatever the number of cases:

1. one statement over the timeline: a per-case milestone table (received, acknowledged,
   triaged, vendor notified, fix available, disclosed; as epoch seconds) built with one
   GROUP BY, then, from it, counts, open cases by age, deadline compliance per tier, reports
   per month and the ordered rows that the percentiles need (window functions);
2. one statement over verification runs for the success rates before and after fixes.

Python only combines the few rows per program that come back.

Definitions (the tests check them against hand-computed values):
- received: the case's `opened` timeline event; the other milestones are the FIRST transition
  into the state (acknowledged; any triaged_* state; vendor_notified; fix_available;
  disclosed).
- valid rate = cases ever triaged valid / cases triaged; duplicate rate = cases triaged as
  duplicates and never valid / cases triaged.
- time to acknowledge / triage / remediate (fix available) / disclose: from receipt, over the
  cases that reached the milestone; median and 90th percentile with linear interpolation
  between closest ranks (PostgreSQL's percentile_cont), in hours.
- deadline compliance: per tier and deadline, a case "met" it when the milestone came no later
  than its due instant, "missed" it when the milestone came later or has not come and the due
  instant has passed, and is "pending" otherwise. Acknowledge and triage run from receipt (every
  case; unscored cases under "unscored"); remediation (to fix available) and disclosure run from
  vendor notification (receipt while there is none), for valid, scored cases only. Due instants
  follow policy.deadlines exactly for calendar days and for business days on the default
  calendar (UTC, Saturday and Sunday off, no holidays, no pauses): the business-day offsets
  are taken from `policy.deadlines.due_at` itself, one per weekday.
- open cases: every state but closed, disclosed and the three rejected triage outcomes; age
  from receipt to `as_of`.
- exploit potential: over cases with finished verification runs both on an affected artifact
  (one of the case's artifacts) and on another version (a fix), the pooled success rate of the
  trials before and after; the reduction is before minus after.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.workflow import CaseState
from modelcvd.core.errors import NotFound
from modelcvd.policy.deadlines import BusinessDays, CalendarDays, DeadlinePolicy, Duration, due_at
from modelcvd.policy.models import Program
from modelcvd.scoring.tier import Tier
from modelcvd.verification.models import VerificationRun, VerificationTrial

DAY = 86_400
TRIAGED = (
    CaseState.VALID,
    CaseState.INVALID,
    CaseState.DUPLICATE,
    CaseState.OUT_OF_SCOPE,
)
NOT_OPEN = (
    CaseState.CLOSED,
    CaseState.DISCLOSED,
    CaseState.INVALID,
    CaseState.DUPLICATE,
    CaseState.OUT_OF_SCOPE,
)
TIME_METRICS = ("acknowledge", "triage", "remediate", "disclose")
DEADLINES = ("acknowledge", "triage", "remediate", "disclose")
TIERS = (*(t.value for t in reversed(list(Tier))), "unscored")
# (label, upper bound in days, inclusive); the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-7 days", 7),
    ("8-30 days", 30),
    ("31-90 days", 90),
    ("91-180 days", 180),
    ("over 180 days", None),
)
MONTHS = 12


@dataclass(frozen=True)
class TimeStat:
    metric: str
    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class ComplianceRow:
    tier: str
    deadline: str
    met: int
    missed: int
    pending: int

    @property
    def rate(self) -> float | None:
        decided = self.met + self.missed
        return self.met / decided if decided else None


@dataclass(frozen=True)
class ExploitReduction:
    cases: int = 0
    before_successes: int = 0
    before_trials: int = 0
    after_successes: int = 0
    after_trials: int = 0

    @property
    def before_rate(self) -> float | None:
        return self.before_successes / self.before_trials if self.before_trials else None

    @property
    def after_rate(self) -> float | None:
        return self.after_successes / self.after_trials if self.after_trials else None

    @property
    def reduction(self) -> float | None:
        if self.before_rate is None or self.after_rate is None:
            return None
        return self.before_rate - self.after_rate


@dataclass
class ProgramMetrics:
    """The metrics of one program, or of all of them (`slug` None)."""

    slug: str | None
    name: str
    received: int = 0
    triaged: int = 0
    valid: int = 0
    duplicate: int = 0
    times: list[TimeStat] = field(default_factory=list)
    compliance: list[ComplianceRow] = field(default_factory=list)
    open_by_age: dict[str, int] = field(default_factory=dict)
    monthly: list[tuple[str, int]] = field(default_factory=list)
    exploit: ExploitReduction = field(default_factory=ExploitReduction)

    @property
    def valid_rate(self) -> float | None:
        return self.valid / self.triaged if self.triaged else None

    @property
    def duplicate_rate(self) -> float | None:
        return self.duplicate / self.triaged if self.triaged else None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_age.values())


@dataclass
class Metrics:
    as_of: datetime
    overall: ProgramMetrics
    programs: list[ProgramMetrics]


def program_policy(program: Program) -> DeadlinePolicy:
    """The deadline targets of a program. Programs store none of their own yet, so each gets
    policy.deadlines' defaults; once they do, this is the one place that reads them."""
    return DeadlinePolicy()


# --- SQL helpers ---------------------------------------------------------------------------


def _epoch(expr: str) -> str:
    """Whole epoch seconds of a timestamp column, in the database's own dialect."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"
    return f"CAST(strftime('%%s', {expr}) AS INTEGER)"


def _month(epoch_expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char(to_timestamp({epoch_expr}) AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {epoch_expr}, 'unixepoch')"


# A Monday well in the past: the reference week for business-day offsets.
_REFERENCE_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)


def allowed_seconds_sql(duration: Duration, start: str) -> str:
    """SQL for the seconds allowed between `start` (epoch seconds column) and its due instant.

    Calendar days: N whole days. Business days on the default calendar: from a business day the
    due instant keeps the wall-clock time, a whole number of days later, that number depending
    on the weekday only; from a weekend day it is a fixed midnight. Both are read off
    policy.deadlines.due_at for one reference week, so this SQL agrees with it by construction
    (tests/metrics/test_deadline_sql.py checks many instants).
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
            seconds = int((due - probe).total_seconds())
            branches.append(f"WHEN {weekday} THEN {seconds}")
        else:
            seconds = int((due - midnight).total_seconds())
            branches.append(f"WHEN {weekday} THEN {seconds} - ({start} %% {DAY})")
    # 1970-01-01 was a Thursday (weekday 3).
    return f"(CASE (({start} / {DAY}) + 3) %% 7 {' '.join(branches)} END)"


def _policy_sql(
    policies: dict[int, DeadlinePolicy], pick: Any, start: str, program_col: str = "program_id"
) -> str:
    """CASE over programs (grouped by identical durations) of the allowed seconds."""
    by_sql: dict[str, list[int]] = defaultdict(list)
    for program_id, policy in policies.items():
        duration = pick(policy)
        if duration is None:
            continue
        by_sql[allowed_seconds_sql(duration, start)].append(program_id)
    if not by_sql:
        return "NULL"
    if len(by_sql) == 1:
        return next(iter(by_sql))
    whens = " ".join(
        f"WHEN {program_col} IN ({', '.join(str(i) for i in ids)}) THEN {sql}"
        for sql, ids in by_sql.items()
    )
    return f"(CASE {whens} END)"


def _tiered_sql(policies: dict[int, DeadlinePolicy], table: str, start: str) -> str:
    whens = []
    for tier in Tier:
        sql = _policy_sql(policies, lambda p, t=tier: getattr(p, table)[t], start)
        whens.append(f"WHEN tier = '{tier.value}' THEN {sql}")
    return f"(CASE {' '.join(whens)} END)"


def _in(values: Any) -> str:
    return ", ".join(f"'{CaseState(v).value}'" for v in values)


def _main_sql(policies: dict[int, DeadlinePolicy], where: str) -> str:
    case_t = Case._meta.db_table
    event_t = TimelineEvent._meta.db_table
    transition = TimelineEvent.Kind.TRANSITION.value

    def first(states: str) -> str:
        return f"MIN(CASE WHEN e.kind = '{transition}' AND e.to_state IN ({states}) THEN e.at END)"

    ack = _policy_sql(policies, lambda p: p.acknowledge, "received")
    triage = _policy_sql(policies, lambda p: p.triage, "received")
    remediate = _tiered_sql(policies, "remediation", "COALESCE(notified, received)")
    disclose = _tiered_sql(policies, "disclosure", "COALESCE(notified, received)")
    ages = []
    lower = -1
    for label, upper in AGE_BUCKETS:
        cond = f"%(as_of)s - received > {lower * DAY}" if lower >= 0 else "1 = 1"
        if upper is not None:
            cond += f" AND %(as_of)s - received <= {upper * DAY}"
        ages.append(
            f"SELECT 'age', program_id, '{label}', '', COUNT(*), 0, 0, 0 FROM m "  # noqa: S608
            f"WHERE is_open = 1 AND {cond} GROUP BY program_id"
        )
        lower = upper if upper is not None else lower
    durations = " UNION ALL ".join(
        f"SELECT program_id, '{name}' AS metric, {col} - received AS s FROM m "  # noqa: S608
        f"WHERE {col} IS NOT NULL"
        for name, col in zip(TIME_METRICS, ("ack", "triage", "fixed", "disclosed"), strict=True)
    )
    # Rank positions that linear interpolation needs for p = 0.5 and 0.9 (integer division).
    ranks = "rn IN ((n - 1) / 2 + 1, n / 2 + 1, (n - 1) * 9 / 10 + 1, ((n - 1) * 9 + 9) / 10 + 1)"
    tier_label = "CASE WHEN tier = '' THEN 'unscored' ELSE tier END"
    # Only constants of this module and table names go into the text; values are parameters.
    return f"""
WITH m0 AS (
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
),
m AS (
  SELECT program_id, tier, valid, duplicate,
    CASE WHEN state IN ({_in(NOT_OPEN)}) THEN 0 ELSE 1 END AS is_open,
    {_epoch("received_at")} AS received, {_epoch("ack_at")} AS ack,
    {_epoch("triage_at")} AS triage, {_epoch("notified_at")} AS notified,
    {_epoch("fixed_at")} AS fixed, {_epoch("disclosed_at")} AS disclosed
  FROM m0
),
d AS ({durations}),
r AS (
  SELECT program_id, metric, s,
    ROW_NUMBER() OVER (PARTITION BY program_id, metric ORDER BY s) AS rn,
    COUNT(*) OVER (PARTITION BY program_id, metric) AS n
  FROM d
  UNION ALL
  SELECT NULL, metric, s,
    ROW_NUMBER() OVER (PARTITION BY metric ORDER BY s),
    COUNT(*) OVER (PARTITION BY metric)
  FROM d
),
dl AS (
  SELECT program_id, {tier_label} AS tier, 'acknowledge' AS deadline, received AS s,
    ack AS e, {ack} AS allowed FROM m
  UNION ALL
  SELECT program_id, {tier_label}, 'triage', received, triage, {triage} FROM m
  UNION ALL
  SELECT program_id, tier, 'remediate', COALESCE(notified, received), fixed, {remediate}
    FROM m WHERE valid = 1 AND tier <> ''
  UNION ALL
  SELECT program_id, tier, 'disclose', COALESCE(notified, received), disclosed, {disclose}
    FROM m WHERE valid = 1 AND tier <> ''
)
SELECT 'summary', program_id, '', '', COUNT(*),
  SUM(CASE WHEN triage IS NOT NULL THEN 1 ELSE 0 END),
  SUM(valid), SUM(CASE WHEN duplicate = 1 AND valid = 0 THEN 1 ELSE 0 END)
FROM m GROUP BY program_id
UNION ALL
SELECT 'rank', program_id, metric, '', rn, n, s, 0 FROM r WHERE {ranks}
UNION ALL
SELECT 'deadline', program_id, tier, deadline,
  SUM(CASE WHEN e IS NOT NULL AND e - s <= allowed THEN 1 ELSE 0 END),
  SUM(CASE WHEN (e IS NOT NULL AND e - s > allowed)
            OR (e IS NULL AND %(as_of)s - s > allowed) THEN 1 ELSE 0 END),
  SUM(CASE WHEN e IS NULL AND %(as_of)s - s <= allowed THEN 1 ELSE 0 END), 0
FROM dl GROUP BY program_id, tier, deadline
UNION ALL
SELECT 'month', program_id, {_month("received")}, '', COUNT(*), 0, 0, 0 FROM m
  WHERE received > %(since)s AND received <= %(as_of)s
  GROUP BY program_id, {_month("received")}
UNION ALL
{" UNION ALL ".join(ages)}
"""  # noqa: S608


def _exploit_sql(where: str) -> str:
    run_t = VerificationRun._meta.db_table
    trial_t = VerificationTrial._meta.db_table
    case_t = Case._meta.db_table
    link_t = Case.artifacts.through._meta.db_table
    return f"""
WITH runs AS (
  SELECT r.case_id AS case_id, c.program_id AS program_id,
    CASE WHEN EXISTS (SELECT 1 FROM {link_t} ca
                      WHERE ca.case_id = r.case_id AND ca.artifact_id = r.artifact_id)
         THEN 1 ELSE 0 END AS affected,
    COUNT(t.id) AS n,
    SUM(CASE WHEN t.success THEN 1 ELSE 0 END) AS k
  FROM {run_t} r
  JOIN {case_t} c ON c.id = r.case_id
  JOIN {trial_t} t ON t.run_id = r.id
  WHERE r.state = '{VerificationRun.State.FINISHED.value}' {where.replace("WHERE", "AND")}
  GROUP BY r.id, r.case_id, c.program_id, r.artifact_id
),
both_sides AS (
  SELECT case_id FROM runs GROUP BY case_id HAVING MIN(affected) = 0 AND MAX(affected) = 1
)
SELECT program_id, affected, COUNT(DISTINCT case_id), SUM(k), SUM(n) FROM runs
WHERE case_id IN (SELECT case_id FROM both_sides)
GROUP BY program_id, affected
"""  # noqa: S608


def _percentile(rows: dict[int, int], n: int, p: float) -> float:
    """Linear interpolation between closest ranks (percentile_cont) from the rank rows."""
    position = (n - 1) * p
    low = int(position)
    fraction = position - low
    lower = rows[low + 1]
    upper = rows.get(low + 2, lower) if fraction else lower
    return lower + (upper - lower) * fraction


def metrics_compute(*, program_slug: str | None = None, as_of: datetime | None = None) -> Metrics:
    """The metrics of every program (and overall), or of one program. Public aggregates."""
    as_of = as_of or timezone.now()
    programs = list(Program.objects.order_by("name"))
    if program_slug is not None:
        programs = [p for p in programs if p.slug == program_slug]
        if not programs:
            raise NotFound()
    policies = {p.pk: program_policy(p) for p in programs}
    where = "" if program_slug is None else "WHERE c.program_id = %(program)s"
    as_of_s = int(as_of.timestamp())
    months = _last_months(as_of)
    first_month = datetime.strptime(months[0] + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
    params = {
        "as_of": as_of_s,
        "since": int(first_month.timestamp()) - 1,
        "program": programs[0].pk if programs else 0,
    }
    with connection.cursor() as cursor:
        cursor.execute(_main_sql(policies, where), params)
        rows = cursor.fetchall()
        cursor.execute(_exploit_sql(where), {"program": params["program"]})
        exploit_rows = cursor.fetchall()

    by_id = {p.pk: ProgramMetrics(slug=p.slug, name=p.name) for p in programs}
    overall = ProgramMetrics(
        slug=None, name="All programs" if program_slug is None else programs[0].name
    )
    ranks: dict[tuple[int | None, str], dict[int, int]] = defaultdict(dict)
    counts: dict[tuple[int | None, str], int] = {}
    compliance: dict[tuple[int | None, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    monthly: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ages: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for section, program_id, key1, key2, v1, v2, v3, v4 in rows:
        target = by_id.get(program_id)
        if section == "rank":
            ranks[(program_id, key1)][int(v1)] = int(v3)
            counts[(program_id, key1)] = int(v2)
            continue
        if target is None:
            continue
        if section == "summary":
            valid, duplicate = int(v3), int(v4)
            for pm in (target, overall):
                pm.received += int(v1)
                pm.triaged += int(v2)
                pm.valid += valid
                pm.duplicate += duplicate
        elif section == "deadline":
            for key in ((program_id, key1, key2), (None, key1, key2)):
                cell = compliance[key]
                cell[0] += int(v1)
                cell[1] += int(v2)
                cell[2] += int(v3)
        elif section == "month":
            monthly[program_id][key1] += int(v1)
            monthly[None][key1] += int(v1)
        elif section == "age":
            ages[program_id][key1] += int(v1)
            ages[None][key1] += int(v1)

    exploit: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for program_id, affected, cases, successes, trials in exploit_rows:
        for key in (program_id, None):
            cell = exploit[key]
            if affected:
                cell[0] += int(cases)
                cell[1] += int(successes or 0)
                cell[2] += int(trials or 0)
            else:
                cell[3] += int(successes or 0)
                cell[4] += int(trials or 0)

    for program_id, pm in [*by_id.items(), (None, overall)]:
        # Rank rows under None cover every case selected: all programs, or the one asked for.
        times = []
        for metric in TIME_METRICS:
            n = counts.get((program_id, metric), 0)
            positions = ranks.get((program_id, metric), {})
            times.append(
                TimeStat(
                    metric=metric,
                    count=n,
                    median_hours=_percentile(positions, n, 0.5) / 3600 if n else None,
                    p90_hours=_percentile(positions, n, 0.9) / 3600 if n else None,
                )
            )
        pm.times = times
        pm.compliance = [
            ComplianceRow(tier, deadline, *compliance.get((program_id, tier, deadline), [0, 0, 0]))
            for tier in TIERS
            for deadline in DEADLINES
            if (program_id, tier, deadline) in compliance
        ]
        pm.open_by_age = {label: ages[program_id].get(label, 0) for label, _ in AGE_BUCKETS}
        pm.monthly = [(month, monthly[program_id].get(month, 0)) for month in months]
        cell = exploit.get(program_id)
        pm.exploit = ExploitReduction(*cell) if cell else ExploitReduction()
    return Metrics(as_of=as_of, overall=overall, programs=list(by_id.values()))


def _last_months(as_of: datetime) -> list[str]:
    year, month = as_of.astimezone(UTC).year, as_of.astimezone(UTC).month
    out = []
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))
