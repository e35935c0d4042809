"""Writes of the metrics: keep metrics.CaseFact current.

Facts are derived data; the services that change their inputs (a case's timeline, tier or
state, a finished verification run, a program's deadline targets) call
`core.projections.case_projections_refresh` / `program_projections_rebuild` explicitly, inside
their own transaction, so a reader of any such service sees that the metrics move with it. They
cannot import this module (metrics reads their apps): MetricsConfig.ready() registers
`case_facts_refresh` and the queued `program_facts_refresh` there.
"""

from __future__ import annotations

from django.db import connection, transaction

from modelcvd.cases.models import Case
from modelcvd.metrics.facts import facts_insert_sql, program_policies
from modelcvd.metrics.models import CaseFact

# Cases per statement when a whole program is refreshed.
CHUNK = 1000


def case_facts_refresh(*, case_ids: list[int]) -> None:
    """Rebuild the facts of these cases (in the caller's transaction)."""
    if not case_ids:
        return
    marks = ", ".join(["%s"] * len(case_ids))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {CaseFact._meta.db_table} WHERE case_id IN ({marks})",  # noqa: S608
            case_ids,
        )
        cursor.execute(
            facts_insert_sql(
                program_policies(), f"WHERE c.id IN ({marks})", f"AND r.case_id IN ({marks})"
            ),
            [*case_ids, *case_ids],
        )


def program_facts_refresh(*, program_id: int) -> int:
    """A program changed its deadline targets: its cases' compliance facts are recomputed.
    Returns the number of cases."""
    ids = list(
        Case.objects.filter(program_id=program_id).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), CHUNK):
        case_facts_refresh(case_ids=ids[start : start + CHUNK])
    return len(ids)


def metrics_rebuild() -> int:
    """Rebuild every case's facts in one statement; returns the number of cases."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CaseFact._meta.db_table}")  # noqa: S608
        cursor.execute(facts_insert_sql(program_policies(), "", ""), [])
        count = cursor.rowcount
    if connection.vendor == "postgresql":
        # Fresh statistics and visibility map: the percentile reads are index-only scans.
        with connection.cursor() as cursor:
            if connection.get_autocommit():
                cursor.execute(f"VACUUM ANALYZE {CaseFact._meta.db_table}")
            else:
                cursor.execute(f"ANALYZE {CaseFact._meta.db_table}")
    return int(count)
