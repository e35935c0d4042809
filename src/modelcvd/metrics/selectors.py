"""Response metrics, computed from the case timeline by the database.

Every number here is an aggregate: no case id, title or reporter ever leaves this module, which
is why the dashboard is public (see docs/transparency.md). The work is done by the database,
over metrics.CaseFact (one row per case, derived from its timeline by metrics.facts and kept
current on every timeline write, with each deadline's settled outcome), in four statements
whatever the number of cases:

1. one GROUP BY (program, tier, settled deadline outcomes): counts, and the deadline outcomes,
   comparing only the still-open deadlines with `as_of`;
2. one over the open cases (age buckets) and the cases verified before and after a fix
   (pooled trials);
3. one GROUP BY (program, month) for the reports received per month;
4. one statement of index reads for the percentiles: for each duration, the two values at
   rank floor(p (n - 1)) along its index (LIMIT 2 OFFSET k, from whichever end is nearer), so
   nothing is sorted.

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
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from modelcvd.cases.workflow import CaseState
from modelcvd.core.errors import NotFound
from modelcvd.metrics.facts import DAY
from modelcvd.metrics.models import CaseFact
from modelcvd.policy.models import Program
from modelcvd.scoring.tier import Tier

TIME_METRICS = ("acknowledge", "triage", "remediate", "disclose")
TIME_COLUMNS = ("ack_s", "triage_s", "fix_s", "disclose_s")
PERCENTILES = (0.5, 0.9)
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


def _in(values: Any) -> str:
    return ", ".join(f"'{CaseState(v).value}'" for v in values)


STATE_COLUMNS = ("ack_state", "triage_state", "remediate_state", "disclose_state")
DUE_COLUMNS = ("ack_due", "triage_due", "remediate_due", "disclose_due")


def _aggregate_sql() -> str:
    """Counts and deadline outcomes per (program, tier, settled outcomes): few groups, and per
    row only the open deadlines are compared with `as_of`."""
    fact_t = CaseFact._meta.db_table
    overdue = ", ".join(
        f"SUM(CASE WHEN {state} = 0 AND {due} < %(as_of)s THEN 1 ELSE 0 END)"
        for state, due in zip(STATE_COLUMNS, DUE_COLUMNS, strict=True)
    )
    return f"""
SELECT program_id, tier, {", ".join(STATE_COLUMNS)}, COUNT(*),
  SUM(CASE WHEN triaged THEN 1 ELSE 0 END),
  SUM(CASE WHEN valid THEN 1 ELSE 0 END),
  SUM(CASE WHEN duplicate THEN 1 ELSE 0 END),
  COUNT(ack_s), COUNT(triage_s), COUNT(fix_s), COUNT(disclose_s),
  {overdue}
FROM {fact_t} WHERE 1 = 1 {{where}}
GROUP BY program_id, tier, {", ".join(STATE_COLUMNS)}
"""  # noqa: S608 - only this module's constants and table names; values are parameters


def _open_and_exploit_sql() -> str:
    """Open cases by age bucket, and the pooled trials of cases verified before and after a
    fix: each over the few rows it concerns."""
    fact_t = CaseFact._meta.db_table
    whens = [
        f"WHEN %(as_of)s - received <= {upper * DAY} THEN '{label}'"
        for label, upper in AGE_BUCKETS
        if upper is not None
    ]
    bucket = f"CASE {' '.join(whens)} ELSE '{AGE_BUCKETS[-1][0]}' END"
    return f"""
SELECT 'age', program_id, {bucket}, COUNT(*), 0, 0, 0, 0 FROM {fact_t}
WHERE is_open {{where}} GROUP BY program_id, {bucket}
UNION ALL
SELECT 'exploit', program_id, '', COUNT(*), SUM(before_successes), SUM(before_trials),
  SUM(after_successes), SUM(after_trials)
FROM {fact_t} WHERE before_trials > 0 AND after_trials > 0 {{where}} GROUP BY program_id
"""  # noqa: S608


def _monthly_sql() -> str:
    return f"""
SELECT program_id, received_month, COUNT(*) FROM {CaseFact._meta.db_table}
WHERE received_month >= %(since)s AND received_month <= %(until)s {{where}}
GROUP BY program_id, received_month
"""  # noqa: S608


def _rank_sql(lookups: list[tuple[str, int | None, str, int, bool]]) -> str:
    """One statement reading, for each (key, program, column, offset, descending), up to two
    values at that offset along the column's index: from the low end for ranks in the lower
    half, from the high end for the upper half, so no read walks more than half the index."""
    fact_t = CaseFact._meta.db_table
    parts = []
    for i, (key, program_id, column, offset, descending) in enumerate(lookups):
        scope = f"program_id = {int(program_id)} AND " if program_id is not None else ""
        order = f"{column} DESC" if descending else column
        parts.append(
            f"SELECT '{key}', {int(offset)}, v FROM (SELECT {column} AS v FROM {fact_t} "  # noqa: S608
            f"WHERE {scope}{column} IS NOT NULL ORDER BY {order} "
            f"LIMIT 2 OFFSET {int(offset)}) AS r{i}"
        )
    return " UNION ALL ".join(parts)


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
    where = "" if program_slug is None else "AND program_id = %(program)s"
    months = _last_months(as_of)
    params = {
        "as_of": int(as_of.timestamp()),
        "since": int(months[0].replace("-", "")),
        "until": int(months[-1].replace("-", "")),
        "program": programs[0].pk if programs else 0,
    }
    by_id = {p.pk: ProgramMetrics(slug=p.slug, name=p.name) for p in programs}
    overall = ProgramMetrics(
        slug=None, name="All programs" if program_slug is None else programs[0].name
    )
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    compliance: dict[tuple[int | None, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    ages: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    exploit: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    monthly: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with connection.cursor() as cursor:
        cursor.execute(_aggregate_sql().replace("{where}", where), params)
        for row in cursor.fetchall():
            program_id, tier = row[0], row[1]
            states = row[2:6]
            received, triaged, valid, duplicate = (int(v or 0) for v in row[6:10])
            reached = row[10:14]
            overdue = row[14:18]
            target = by_id.get(program_id)
            if target is None:
                continue
            tier_key = tier or "unscored"
            for key, pm in ((program_id, target), (None, overall)):
                pm.received += received
                pm.triaged += triaged
                pm.valid += valid
                pm.duplicate += duplicate
                for metric, n in zip(TIME_METRICS, reached, strict=True):
                    counts[(key, metric)] += int(n)
                for deadline, state, late in zip(DEADLINES, states, overdue, strict=True):
                    if state is None:
                        continue
                    cell = compliance[(key, tier_key, deadline)]
                    if state == CaseFact.State.MET:
                        cell[0] += received
                    elif state == CaseFact.State.LATE:
                        cell[1] += received
                    else:
                        cell[1] += int(late or 0)
                        cell[2] += received - int(late or 0)
        cursor.execute(_open_and_exploit_sql().replace("{where}", where), params)
        for section, program_id, label, *values in cursor.fetchall():
            for key in (program_id, None):
                if section == "age":
                    ages[key][label] += int(values[0])
                else:
                    cell = exploit[key]
                    for e, value in enumerate(values):
                        cell[e] += int(value or 0)
        cursor.execute(_monthly_sql().replace("{where}", where), params)
        for program_id, month, count in cursor.fetchall():
            label = f"{int(month) // 100:04d}-{int(month) % 100:02d}"
            monthly[program_id][label] += int(count)
            monthly[None][label] += int(count)
        lookups: list[tuple[str, int | None, str, int, bool]] = []
        sizes: dict[str, tuple[int, bool]] = {}
        for key in [*by_id, None]:
            scope = key if key is not None else (programs[0].pk if program_slug else None)
            for metric, column in zip(TIME_METRICS, TIME_COLUMNS, strict=True):
                n = counts.get((key, metric), 0)
                for p in PERCENTILES:
                    if not n:
                        continue
                    low = int((n - 1) * p)
                    name = f"{key}|{metric}|{p}"
                    descending = low > (n - 1) // 2
                    offset = max(n - low - 2, 0) if descending else low
                    lookups.append((name, scope, column, offset, descending))
                    sizes[name] = (n, descending)
        ranks: dict[str, dict[int, int]] = defaultdict(dict)
        if lookups:
            cursor.execute(_rank_sql(lookups))
            found: dict[tuple[str, int], list[int]] = defaultdict(list)
            for key, offset, value in cursor.fetchall():
                found[(key, int(offset))].append(int(value))
            # Two values at an offset are consecutive ranks; count them in ascending order.
            for (key, offset), values in found.items():
                n, descending = sizes[key]
                first = n - offset - len(values) + 1 if descending else offset + 1
                for i, value in enumerate(sorted(values)):
                    ranks[key][first + i] = value

    for program_id, pm in [*by_id.items(), (None, overall)]:
        times = []
        for metric in TIME_METRICS:
            n = counts.get((program_id, metric), 0)
            stats = [
                _percentile(ranks[f"{program_id}|{metric}|{p}"], n, p) / 3600 if n else None
                for p in PERCENTILES
            ]
            times.append(TimeStat(metric, n, stats[0], stats[1]))
        pm.times = times
        pm.compliance = [
            ComplianceRow(tier, deadline, *compliance[(program_id, tier, deadline)])
            for tier in TIERS
            for deadline in DEADLINES
            if sum(compliance.get((program_id, tier, deadline), [0, 0, 0]))
        ]
        pm.open_by_age = {label: ages[program_id].get(label, 0) for label, _ in AGE_BUCKETS}
        pm.monthly = [(month, monthly[program_id].get(month, 0)) for month in months]
        pm.exploit = ExploitReduction(*exploit[program_id])
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
