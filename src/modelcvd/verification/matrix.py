"""Reads on transfer matrices: one request's runs laid out target x harm category.

Each cell pools the finished runs of one target on the reports of one harm category: k/n, the
exact (Clopper-Pearson) interval from the engine's stats, and a decision from the runs' own
verdicts (each run's fixed-size test or sequential test decided it; pooled counts are not
re-tested, which would ignore how sequential runs stopped): reproduced if any run in the cell
reproduced, not reproduced if every run did not, blocked if a pin mismatch blocked one, else
undecided; "pending" while no run of the cell has finished.

Summary figures over the rows the reader may see: reproduction rate per target (pooled k/n
with its interval), transfer = targets reproduced / targets tried, universality = harm
categories reproduced (on any target) / categories tried.

Rows of targets the reader may not see (another vendor's) are left out, and the figures are
computed without them, so a vendor learns nothing of other vendors' models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.services.vendors import vendors_told
from modelcvd.core.errors import NotFound
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.verification.models import RunGroup, Target, VerificationRun
from modelcvd.vocabulary import RunVerdict

Actor = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class Cell:
    harm_category: str
    runs: list[int]
    states: list[str]
    successes: int
    trials: int
    rate: float | None
    clopper_pearson: tuple[float, float] | None
    decision: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "harm_category": self.harm_category,
            "runs": self.runs,
            "states": self.states,
            "successes": self.successes,
            "trials": self.trials,
            "rate": self.rate,
            "clopper_pearson": list(self.clopper_pearson) if self.clopper_pearson else None,
            "decision": self.decision,
        }


@dataclass(frozen=True)
class Row:
    target_id: int
    target: str
    organisation: str
    artifact_id: int
    artifact: str
    vendor_id: int | None
    cells: list[Cell]
    successes: int
    trials: int
    rate: float | None
    clopper_pearson: tuple[float, float] | None
    reproduced: bool
    tried: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_id": self.target_id,
            "target": self.target,
            "organisation": self.organisation,
            "artifact_id": self.artifact_id,
            "artifact": self.artifact,
            "cells": [c.to_dict() for c in self.cells],
            "successes": self.successes,
            "trials": self.trials,
            "rate": self.rate,
            "clopper_pearson": list(self.clopper_pearson) if self.clopper_pearson else None,
            "reproduced": self.reproduced,
            "tried": self.tried,
        }


@dataclass(frozen=True)
class Proposal:
    """A vendor whose model a reproduced cell shows affected, never told of the case: the
    coordinator may bring it in (an explicit, audited notify)."""

    organisation: str
    name: str
    artifact_id: int
    artifact: str
    target_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "name": self.name,
            "artifact_id": self.artifact_id,
            "artifact": self.artifact,
            "target_id": self.target_id,
        }


@dataclass(frozen=True)
class Matrix:
    group_id: int
    case_id: int
    trials: int
    sequential: bool
    categories: list[str]
    rows: list[Row]
    transfer: tuple[int, int]
    universality: tuple[int, int]
    proposals: list[Proposal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.group_id,
            "case_id": self.case_id,
            "trials": self.trials,
            "sequential": self.sequential,
            "categories": self.categories,
            "rows": [r.to_dict() for r in self.rows],
            "transfer": {"reproduced": self.transfer[0], "tried": self.transfer[1]},
            "universality": {"reproduced": self.universality[0], "tried": self.universality[1]},
            "proposals": [p.to_dict() for p in self.proposals],
        }


def _interval(successes: int, trials: int) -> tuple[float, float] | None:
    if not trials:
        return None
    low, high = clopper_pearson_interval(successes, trials)
    return float(low), float(high)


def cell_decision(verdicts: list[str]) -> str:
    """The cell's decision from its finished runs' verdicts (module docstring)."""
    if not verdicts:
        return "pending"
    if RunVerdict.REPRODUCED in verdicts:
        return RunVerdict.REPRODUCED.value
    if all(v == RunVerdict.NOT_REPRODUCED for v in verdicts):
        return RunVerdict.NOT_REPRODUCED.value
    if RunVerdict.BLOCKED in verdicts:
        return RunVerdict.BLOCKED.value
    return RunVerdict.UNDECIDED.value


def _cell(category: str, runs: list[VerificationRun]) -> Cell:
    summaries: list[dict[str, Any]] = [
        r.summary for r in runs if r.state == VerificationRun.State.FINISHED and r.summary
    ]
    k = sum(int(s["successes"]) for s in summaries)
    n = sum(int(s["trials"]) for s in summaries)
    return Cell(
        harm_category=category,
        runs=[r.pk for r in runs],
        states=[r.state for r in runs],
        successes=k,
        trials=n,
        rate=k / n if n else None,
        clopper_pearson=_interval(k, n),
        decision=cell_decision([str(s.get("verdict", "")) for s in summaries]),
    )


def matrix_of(*, actor: Actor, group: RunGroup, coordinator: bool) -> Matrix:
    """The matrix of `group` as `actor` may see it (their visible runs on visible targets)."""
    visible_targets = set(Target.objects.restrict(actor, "view").values_list("pk", flat=True))
    runs = list(
        group.runs.filter(pk__in=VerificationRun.objects.allowed(actor, "view"))
        .filter(target_id__in=visible_targets)
        .select_related("report", "target", "target__organisation", "artifact")
        .order_by("target_id", "report__harm_category", "id")
    )
    categories = sorted({r.report.harm_category for r in runs})
    by_target: dict[int, list[VerificationRun]] = {}
    for run in runs:
        assert run.target_id is not None
        by_target.setdefault(run.target_id, []).append(run)
    rows: list[Row] = []
    for target_runs in by_target.values():
        target = target_runs[0].target
        assert target is not None
        cells = [
            _cell(c, [r for r in target_runs if r.report.harm_category == c]) for c in categories
        ]
        k = sum(c.successes for c in cells)
        n = sum(c.trials for c in cells)
        rows.append(
            Row(
                target_id=target.pk,
                target=target.name,
                organisation=target.organisation.name,
                artifact_id=target.artifact_id,
                artifact=str(target_runs[0].artifact),
                vendor_id=target_runs[0].artifact.vendor_id,
                cells=cells,
                successes=k,
                trials=n,
                rate=k / n if n else None,
                clopper_pearson=_interval(k, n),
                reproduced=any(c.decision == RunVerdict.REPRODUCED for c in cells),
                tried=any(c.decision != "pending" for c in cells),
            )
        )
    tried = [r for r in rows if r.tried]
    categories_tried = {c.harm_category for r in rows for c in r.cells if c.decision != "pending"}
    categories_reproduced = {
        c.harm_category for r in rows for c in r.cells if c.decision == RunVerdict.REPRODUCED
    }
    proposals: list[Proposal] = []
    if coordinator:
        told = vendors_told(group.case)
        seen: set[int] = set()
        for row in rows:
            vendor_id = row.vendor_id
            if not row.reproduced or vendor_id is None or vendor_id in told or vendor_id in seen:
                continue
            seen.add(vendor_id)
            artifact = next(r.artifact for r in by_target[row.target_id])
            assert artifact.vendor is not None
            proposals.append(
                Proposal(
                    organisation=artifact.vendor.slug,
                    name=artifact.vendor.name,
                    artifact_id=artifact.pk,
                    artifact=str(artifact),
                    target_id=row.target_id,
                )
            )
    return Matrix(
        group_id=group.pk,
        case_id=group.case_id,
        trials=group.trials,
        sequential=group.sequential,
        categories=categories,
        rows=rows,
        transfer=(sum(r.reproduced for r in tried), len(tried)),
        universality=(len(categories_reproduced), len(categories_tried)),
        proposals=proposals,
    )


def matrix_get_for(*, actor: Actor, group_id: int) -> Matrix:
    """The matrix if `actor` sees its case (NotFound otherwise, as for a missing one)."""
    group = RunGroup.objects.select_related("case").filter(pk=group_id).first()
    if group is None:
        raise NotFound()
    case = case_get_for(actor=actor, case_id=group.case_id)
    coordinator = Case.objects.allows(actor, case, "coordinate")
    return matrix_of(actor=actor, group=group, coordinator=coordinator)


def matrices_for_case(*, actor: Actor, case: Case) -> list[Matrix]:
    """The case's matrices (newest first) as `actor` may see them; the caller has checked
    that `actor` sees the case."""
    coordinator = Case.objects.allows(actor, case, "coordinate")
    return [
        matrix_of(actor=actor, group=group, coordinator=coordinator)
        for group in case.run_groups.order_by("-created_at", "-id")
    ]
