"""Filing a safety-stripped derivative as a report, in one step.

Weight forensics (`modelcvd.forensics.weights.compare_dirs`) says how the derived weights were
made from the base; the behaviour probe measures the refusal rates of both. When the weights say
`abliterated` or the refusal rate dropped significantly, `forensic_report_file` submits a
report against the derived artifact through the ordinary intake (`report_submit`: payload
sealed, a case opened), attaches the full forensics JSON (sealed too), and links the derived
artifact to its base when no parent is on record yet. `forensic_report_run` is the whole job
(compare, probe, file) that the worker runs; `forensics.forensic_report_request` queues it.

Filing a report is this app's job; the artifacts app only records the lineage link it implies.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from django.db import transaction

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import local_dir_of
from modelcvd.artifacts.services import artifact_forensics_link
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.forensics.behaviour import PROBES, BehaviourComparison, compare_behaviour_dirs
from modelcvd.optional import require_ml
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.models import Report
from modelcvd.reports.services.attachments import attachment_add
from modelcvd.reports.services.intake import report_submit

if TYPE_CHECKING:  # the weights module loads torch (the ml extra); only its types are named here
    from modelcvd.forensics.weights import Comparison

log = logging.getLogger(__name__)


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
        artifact_forensics_link(
            actor=actor,
            base=base,
            derived=derived,
            report_id=report.pk,
            verdict=comparison.verdict,
        )
    return report


def forensic_report_run(
    *, actor_id: int, program: str, base_id: int, derived_id: int
) -> Report | None:
    """Compare the stored weights, probe both models, file the report if detected."""
    require_ml("weight forensics")
    # torch (the ml extra) is loaded only by the worker that runs the comparison.
    from modelcvd.forensics.weights import compare_dirs

    actor = User.objects.get(pk=actor_id)
    base = Artifact.objects.get(pk=base_id)
    derived = Artifact.objects.get(pk=derived_id)
    base_dir, derived_dir = local_dir_of(base, "base_id"), local_dir_of(derived, "artifact_id")
    comparison = compare_dirs(base_dir, derived_dir)
    behaviour = compare_behaviour_dirs(base_dir, derived_dir)
    try:
        return forensic_report_file(
            actor=actor,
            program=program,
            base=base,
            derived=derived,
            comparison=comparison,
            behaviour=behaviour,
        )
    except InvalidInput as exc:
        log.warning("forensics on #%s against #%s: no report (%s)", derived_id, base_id, exc)
        return None
