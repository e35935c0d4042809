"""Filing a safety-stripped derivative as a report, in one step.

Weight forensics (`modelcvd.forensics.compare_dirs`) says how the derived weights were made
from the base; the behaviour probe measures the refusal rates of both. When the weights say
`abliterated` or the refusal rate dropped significantly, `forensic_report_file` submits a
report against the derived artifact through the ordinary intake (`report_submit`: payload
sealed, a case opened), attaches the full forensics JSON (sealed too), and links the derived
artifact to its base when no parent is on record yet.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput
from modelcvd.forensics.behaviour import PROBES, BehaviourComparison
from modelcvd.forensics.weights import Comparison
from modelcvd.reports.attachments import attachment_add
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_submit


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def forensic_document(
    *,
    program: str,
    base: Artifact,
    derived: Artifact,
    comparison: Comparison,
    behaviour: BehaviourComparison,
) -> ReportDocument:
    """The report a detected safety-stripped derivative becomes."""
    b, d = behaviour.base, behaviour.derived
    complied = d.trials - d.refusals
    weights = f"Weight forensics against {base} (artifact #{base.pk}): verdict {comparison.verdict}"
    if comparison.direction_consistency is not None:
        weights += f", direction consistency {comparison.direction_consistency:.3f}"
    if comparison.band:
        weights += f", layers {comparison.band[0]}-{comparison.band[1]}"
    refusals = (
        f"Refusal rate on {behaviour.probes} harmful probes: base {b.refusals}/{b.trials} "
        f"(95% CI {b.clopper_pearson[0]:.2f}-{b.clopper_pearson[1]:.2f}), derived "
        f"{d.refusals}/{d.trials} (95% CI {d.clopper_pearson[0]:.2f}-{d.clopper_pearson[1]:.2f}); "
        f"one-sided exact test of a drop: p = {behaviour.drop.p_value:.3g}"
    )
    return ReportDocument.model_validate(
        {
            "title": _short(f"Safety-stripped derivative {derived} of {base}", 200),
            "abstract": _short(
                f"{derived} appears to be {base} with its refusal behaviour removed. "
                f"{weights}. {refusals}.",
                5000,
            ),
            "program": program,
            "artifacts": [
                {
                    "provider": derived.provider,
                    "name": derived.name,
                    "revision": derived.revision,
                    "version_label": derived.version_label,
                    "weights_digest": derived.weights_digest,
                }
            ],
            # A modified copy of a published model: supply chain (LLM03), Manipulate AI Model.
            "technique": {"owasp": "LLM03", "atlas": "AML.T0018"},
            "harm_category": "other",
            "reproduction": {
                "turns": [{"role": "user", "content": behaviour.complied_probe or PROBES[0]}],
                "sampling": {
                    "temperature": behaviour.sampling.temperature,
                    "top_p": behaviour.sampling.top_p,
                    "max_tokens": behaviour.sampling.max_tokens,
                    "seed": 0,
                },
                "successes": complied,
                "trials": d.trials,
            },
            "expected_behaviour": f"Refuses harmful requests as its base does ({refusals}).",
            "observed_behaviour": "\n".join([weights + ".", *comparison.evidence]),
            "impact": (
                "A copy of an open-weights model with its safety training removed, distributed "
                "under a name that may not say so. The base cannot be patched; its derivatives "
                "need to be tracked and flagged."
            ),
        }
    )


def forensic_report_file(
    *,
    actor: User,
    program: str,
    base: Artifact,
    derived: Artifact,
    comparison: Comparison,
    behaviour: BehaviourComparison,
) -> Report:
    """Submit the report, attach the forensics and link derived -> base; all or nothing."""
    if comparison.verdict != "abliterated" and not behaviour.safety_stripped:
        raise InvalidInput(
            [
                FieldError(
                    "verdict",
                    f"weights say {comparison.verdict} and the refusal rate did not drop "
                    "significantly: not a detected safety-stripped derivative",
                )
            ]
        )
    document = forensic_document(
        program=program, base=base, derived=derived, comparison=comparison, behaviour=behaviour
    )
    evidence = {"weights": comparison.to_dict(), "behaviour": behaviour.to_dict()}
    with transaction.atomic():
        report = report_submit(actor=actor, document=document)
        attachment_add(
            report=report,
            actor=actor,
            filename="forensics.json",
            content=json.dumps(evidence, indent=1).encode("utf-8"),
        )
        if derived.parent_id is None and derived.pk != base.pk:
            derived.parent = base
            derived.relation = (
                Artifact.Relation.ABLITERATION
                if comparison.verdict == "abliterated"
                else Artifact.Relation.FINE_TUNE
            )
            derived.lineage_source = Artifact.LineageSource.FORENSICS
            derived.save(update_fields=["parent", "relation", "lineage_source"])
        audit_record(
            actor=actor,
            action="artifact.forensic_report",
            obj=derived,
            data={"base": base.pk, "report": report.pk, "verdict": comparison.verdict},
        )
    return report


def local_dir_of(artifact: Artifact, field: str) -> Path:
    """The artifact's local copy, which must lie under MODELCVD_MODEL_DIRS."""
    if not artifact.local_dir:
        raise InvalidInput([FieldError(field, "this artifact has no local copy of its weights")])
    path = Path(artifact.local_dir).resolve()
    roots = [Path(root).resolve() for root in settings.MODEL_DIRS]
    if not any(path.is_relative_to(root) for root in roots):
        raise InvalidInput([FieldError(field, "its local copy is not under MODELCVD_MODEL_DIRS")])
    if not path.is_dir():
        raise InvalidInput([FieldError(field, "its local copy is missing on this server")])
    return path


def forensic_report_request(
    *, actor: User, program: str, base: Artifact, derived: Artifact
) -> None:
    """Check a request from the web or the API, then queue the comparison and the filing."""
    if not Artifact.objects.allows(actor, derived, "coordinate"):
        raise Forbidden("only coordinators run forensics on stored weights")
    if base.pk == derived.pk:
        raise InvalidInput([FieldError("base_id", "the base must be another artifact")])
    local_dir_of(base, "base_id")
    local_dir_of(derived, "artifact_id")
    from modelcvd.artifacts.tasks import forensic_report_task
    from modelcvd.policy.models import Program

    if not Program.objects.filter(slug=program, accepts_reports=True).exists():
        raise InvalidInput([FieldError("program", "no program with this slug accepts reports")])
    audit_record(
        actor=actor,
        action="artifact.forensic_request",
        obj=derived,
        data={"base": base.pk, "program": program},
    )
    transaction.on_commit(
        lambda: forensic_report_task.delay(actor.pk, program, base.pk, derived.pk)
    )
