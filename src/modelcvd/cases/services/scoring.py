"""Scoring a case: a coordinator sets the CVSS 4.0 vector, the AI rubric inputs and the SSVC
decision points; the case stores the scores, the tier, the SSVC decisions and an explanation,
and its deadlines move to the new tier. The maths is scoring/ (pure); docs/severity.md.

Reproducibility is measured, not claimed: the lower bound of the exact (Clopper-Pearson) 95%
interval of the latest finished verification run on the case
(verification.selectors.measured_reproducibility, given by the caller: runs are an app above
cases); without one, the coordinator's value; without that, the exact lower bound over the
trials the reporters ran. (Wilson's interval is not used: it undercovers at small n.)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.cases.models import TimelineEvent as Event
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.services.deadlines import case_deadlines_refresh
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.core.projections import case_projections_refresh
from modelcvd.notifications.services import webhook_emit
from modelcvd.scoring.cvss4 import InvalidVector, cvss4_score
from modelcvd.scoring.rubric import RubricInput, RubricInputError, rubric_score
from modelcvd.scoring.ssvc import (
    SsvcValueError,
    coordinator_publish,
    coordinator_publish_table,
    coordinator_triage,
    coordinator_triage_table,
)
from modelcvd.verification.engine.stats import clopper_pearson_interval

TRIAGE_POINTS = (
    "report_public",
    "supplier_contacted",
    "report_credibility",
    "supplier_cardinality",
    "supplier_engagement",
    "utility",
    "public_safety_impact",
)
PUBLISH_POINTS = ("supplier_involvement", "exploitation", "public_value_added")


def reported_reproducibility(case: Case) -> tuple[float, str] | None:
    reports = [r for r in case.reports.all() if r.trials]
    if not reports:
        return None
    successes = sum(r.successes for r in reports)
    trials = sum(r.trials for r in reports)
    low = float(clopper_pearson_interval(successes, trials)[0])
    return low, f"reported trials {successes}/{trials} (exact lower bound)"


def _threshold_note(case: Case, lower_bound: Any) -> str:
    """Whether the reproducibility (a lower bound) meets the program's reproduction threshold
    (policy.Program.reproduction_threshold, the rule of reproduce before triage)."""
    threshold = case.program.reproduction_threshold
    if not isinstance(lower_bound, int | float) or isinstance(lower_bound, bool):
        return ""
    met = "meets" if lower_bound >= threshold else "is below"
    return f"; {met} the program's reproduction threshold of {threshold:.0%}"


def _rubric_defaults(case: Case) -> dict[str, Any]:
    artifacts = list(case.artifacts.all())
    harm = case.reports.values_list("harm_category", flat=True).first() or "other"
    return {
        "harm_category": harm,
        "reach": max(1, len(artifacts)),
        "patchable": not any(a.access == Artifact.Access.OPEN_WEIGHTS for a in artifacts),
        "models_affected": max(1, len({(a.provider, a.name) for a in artifacts})),
        "vendors_affected": max(1, len({a.vendor_id for a in artifacts if a.vendor_id})),
    }


def _ssvc(points: tuple[str, ...], given: dict[str, str] | None, field: str) -> dict[str, str]:
    if not given:
        return {}
    unknown = sorted(set(given) - set(points))
    missing = [p for p in points if p not in given]
    if unknown or missing:
        raise InvalidInput(
            [
                FieldError(
                    field,
                    f"needs exactly {', '.join(points)}; "
                    f"missing {missing or 'none'}, unknown {unknown or 'none'}",
                )
            ]
        )
    return {p: str(given[p]) for p in points}


def case_score(
    *,
    case_id: int,
    actor: User,
    cvss_vector: str = "",
    rubric: dict[str, Any],
    ssvc_triage: dict[str, str] | None = None,
    ssvc_publish: dict[str, str] | None = None,
    measured: tuple[float, str] | None = None,
) -> Case:
    """Score a case. 422 naming the field (cvss_vector, rubric.<factor>, ssvc_triage,
    ssvc_publish) and the reason on any invalid input; 403 unless a coordinator. `measured` is
    the measured reproducibility and where it comes from; it overrides the rubric's."""
    with transaction.atomic():
        case = case_get_for(
            actor=actor,
            case_id=case_id,
            action="coordinate",
            lock=True,
            forbidden="only the case's coordinators score it",
        )
        errors: list[FieldError] = []
        cvss = None
        if cvss_vector.strip():
            try:
                cvss = cvss4_score(cvss_vector)
            except InvalidVector as exc:
                errors.append(FieldError("cvss_vector", str(exc)))

        inputs = {**_rubric_defaults(case), **{k: v for k, v in rubric.items() if v is not None}}
        source = "given by the coordinator"
        if measured is not None:
            inputs["reproducibility"], source = measured
        elif "reproducibility" not in inputs:
            reported = reported_reproducibility(case)
            inputs["reproducibility"], source = reported or (0.0, "no trials yet")
        source += _threshold_note(case, inputs["reproducibility"])
        result = None
        try:
            result = rubric_score(RubricInput(**inputs))
        except RubricInputError as exc:
            factor = str(exc).split(" ", 1)[0]
            errors.append(FieldError(f"rubric.{factor}", str(exc)))
        except TypeError as exc:
            errors.append(FieldError("rubric", str(exc)))

        decisions: dict[str, Any] = {}
        # The two SSVC decisions the coordinator takes, each from CERT/CC's own table.
        for key, field, points, given, decide in (
            ("triage", "ssvc_triage", TRIAGE_POINTS, ssvc_triage, coordinator_triage),
            ("publish", "ssvc_publish", PUBLISH_POINTS, ssvc_publish, coordinator_publish),
        ):
            try:
                values = _ssvc(points, given, field)
                if values:
                    decision = decide(**values)
                    decisions[key] = {
                        "outcome": decision.outcome.value,
                        "inputs": dict(decision.inputs),
                        "table": decision.table,
                    }
            except SsvcValueError as exc:
                errors.append(FieldError(field, str(exc)))
            except InvalidInput as exc:
                errors.extend(exc.errors)
        if errors or result is None:
            raise InvalidInput(errors)

        explanation = [result.explanation(), f"- reproducibility source: {source}"]
        if cvss is not None:
            explanation.append(
                f"CVSS 4.0 {cvss.base_score} {cvss.severity} ({cvss.nomenclature}) {cvss.vector}"
            )
        if decisions:
            explanation.append(
                "SSVC (CERT/CC "
                + ", ".join(f"{d['table']}: {d['outcome']}" for d in decisions.values())
                + ")"
            )
        case.cvss_vector = cvss.vector if cvss else ""
        case.cvss_score = cvss.base_score if cvss else None
        case.cvss_severity = cvss.severity if cvss else ""
        case.tier = result.tier.value
        case.rubric = {
            "version": result.rubric_version,
            "inputs": {
                **{k: (v.value if hasattr(v, "value") else v) for k, v in inputs.items()},
                "reproducibility_source": source,
            },
            "points": result.points,
            "max_points": result.max_points,
            "contributions": [asdict(c) for c in result.contributions],
            "adjustments": list(result.adjustments),
        }
        case.ssvc = decisions
        case.severity_explanation = "\n".join(explanation)
        case.scored_at = timezone.now()
        case.save()
        case_deadlines_refresh(case=case)
        Event.objects.create(
            case=case,
            at=case.scored_at,
            actor=actor,
            kind=Event.Kind.SCORE,
            reason=f"tier {case.tier}"
            + (f", CVSS {case.cvss_score} {case.cvss_severity}" if cvss else "")
            + "".join(f", SSVC {k}: {d['outcome']}" for k, d in decisions.items()),
        )
        audit_record(
            actor=actor,
            action="case.score",
            obj=case,
            data={"tier": case.tier, "cvss": case.cvss_vector, "ssvc": decisions},
        )
        case_projections_refresh(case_ids=[case.pk])
        webhook_emit(case=case, event="case.scored", data={"tier": case.tier})
    return case


def severity_out(case: Case) -> dict[str, Any]:
    return {
        "tier": case.tier or None,
        "cvss_vector": case.cvss_vector or None,
        "cvss_score": case.cvss_score,
        "cvss_severity": case.cvss_severity or None,
        "rubric": case.rubric or None,
        "ssvc": case.ssvc or None,
        "explanation": case.severity_explanation,
        "scored_at": case.scored_at,
        "ssvc_tables": [coordinator_triage_table().id, coordinator_publish_table().id],
    }
