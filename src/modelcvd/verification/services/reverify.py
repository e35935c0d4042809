"""Researcher re-verification: once a fix is announced, the reporter replays their own report on
the fixed version and says on the timeline whether they agree that it is fixed.

Rules:
- only the case's reporter (a coordinator uses `run_request`); others who see the case get 403,
  those who do not see it 404;
- only once a fix has been announced: the case has been moved to fix_available and is in
  fix_available or a later state (fix_verified, disclosed, withheld, closed); before that, 409;
- the artifact must be a new version of one the case affects (same provider and name, not
  one of the case's own artifacts): that is what "the fixed version" means here;
- the target must be an `hf:` directory under MODELCVD_MODEL_DIRS, or an endpoint the case's
  coordinators already ran this version on (a researcher does not point the platform's
  workers at arbitrary URLs); without one, the coordinators' latest target for the version;
- the run replays the reporter's own report, never another reporter's in a merged case.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.workflow import CaseState
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import DomainError, FieldError, Forbidden, InvalidInput
from modelcvd.core.projections import case_projections_refresh
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services.runs import JUDGES, MAX_TRIALS, check_target, run_create

AFTER_FIX = frozenset(
    {
        CaseState.FIX_AVAILABLE,
        CaseState.FIX_VERIFIED,
        CaseState.DISCLOSED,
        CaseState.WITHHELD,
        CaseState.CLOSED,
    }
)
MAX_STATEMENT = 5000


class FixNotAnnounced(DomainError):
    """The case has no announced fix yet: nothing to re-verify."""

    status = 409


def _reporter_case(*, case_id: int, actor: User) -> Case:
    case = case_get_for(
        actor=actor,
        case_id=case_id,
        action="report",
        forbidden="only the case's reporter re-verifies a fix",
    )
    announced = case.timeline.filter(
        kind=TimelineEvent.Kind.TRANSITION, to_state=CaseState.FIX_AVAILABLE
    ).exists()
    if case.state not in AFTER_FIX or not announced:
        raise FixNotAnnounced(
            f"no fix has been announced on this case yet (state {case.state}); "
            "re-verification opens at fix_available"
        )
    return case


def fixed_versions(*, case: Case) -> list[Artifact]:
    """Artifacts that are new versions of the ones the case affects."""
    affected = list(case.artifacts.all())
    ids = {a.pk for a in affected}
    found: list[Artifact] = []
    for a in affected:
        found.extend(
            Artifact.objects.filter(provider=a.provider, name=a.name)
            .exclude(pk__in=ids)
            .order_by("-created_at", "-id")
        )
    return found


def _target_for(case: Case, artifact: Artifact, target: str | None) -> str:
    staff_targets = list(
        VerificationRun.objects.filter(case=case, artifact=artifact)
        .exclude(requested_by__in=case.reports.values("reporter_id"))
        .order_by("-created_at", "-id")
        .values_list("target_uri", flat=True)
    )
    if not target:
        if not staff_targets:
            raise InvalidInput(
                [
                    FieldError(
                        "target",
                        "required: the coordinators have not run this version yet, so give "
                        "an hf: directory under MODELCVD_MODEL_DIRS",
                    )
                ]
            )
        return staff_targets[0]
    checked = check_target(target)
    if checked.startswith("hf:") or checked in staff_targets:
        return checked
    raise InvalidInput(
        [
            FieldError(
                "target",
                "researchers may use an hf: directory under MODELCVD_MODEL_DIRS or an endpoint "
                "the coordinators already ran this version on",
            )
        ]
    )


def reverification_request(
    *, case_id: int, actor: User, artifact_id: int, trials: int, target: str | None = None
) -> VerificationRun:
    """Queue a replay of the reporter's own report on the fixed version, and say so on the
    timeline."""
    case = _reporter_case(case_id=case_id, actor=actor)
    if not 1 <= trials <= MAX_TRIALS:
        raise InvalidInput([FieldError("trials", f"between 1 and {MAX_TRIALS}")])
    artifact = next((a for a in fixed_versions(case=case) if a.pk == artifact_id), None)
    if artifact is None:
        raise InvalidInput(
            [
                FieldError(
                    "artifact_id",
                    "not a fixed version of an artifact this case affects (same provider and "
                    "name, another revision)",
                )
            ]
        )
    uri = _target_for(case, artifact, target)
    report = case.reports.filter(reporter_id=actor.pk).order_by("created_at", "id").first()
    if report is None:  # access.reporter guarantees one; kept for the type checker
        raise Forbidden("only the case's reporter re-verifies a fix")
    with transaction.atomic():
        run = run_create(
            case=case,
            report=report,
            actor=actor,
            artifact=artifact,
            target=uri,
            trials=trials,
            judge=JUDGES[0],
            action="verification.reverify",
        )
        TimelineEvent.objects.create(
            case=case,
            at=timezone.now(),
            actor=actor,
            kind=TimelineEvent.Kind.REVERIFICATION,
            reason=f"the reporter asked for re-verification run #{run.pk} on {artifact}",
        )
        case_projections_refresh(case_ids=[case.pk])
    return run


def fix_opinion_record(
    *, case_id: int, actor: User, agrees: bool, statement: str, run_id: int | None = None
) -> TimelineEvent:
    """The reporter's agreement or disagreement that the fix works, on the timeline."""
    statement = statement.strip()
    if not statement:
        raise InvalidInput([FieldError("statement", "say why you agree or disagree")])
    if len(statement) > MAX_STATEMENT:
        raise InvalidInput([FieldError("statement", f"at most {MAX_STATEMENT} characters")])
    case = _reporter_case(case_id=case_id, actor=actor)
    run = None
    if run_id is not None:
        run = VerificationRun.objects.filter(pk=run_id, case=case).first()
        if run is None:
            raise InvalidInput([FieldError("run_id", "no verification run with this id here")])
    kind = TimelineEvent.Kind.FIX_CONFIRMED if agrees else TimelineEvent.Kind.FIX_DISPUTED
    evidence = ""
    if run is not None:
        summary = run.summary or {}
        evidence = f" (run #{run.pk} on {run.artifact}"
        # The timeline is the vendor's too: a held-out item's run results stay per category.
        if run.report.held_out:
            evidence += ", a held-out benchmark item: results per harm category"
        elif summary:
            evidence += f": {summary.get('successes')}/{summary.get('trials')} successes"
        evidence += ")"
    with transaction.atomic():
        event = TimelineEvent.objects.create(
            case=case,
            at=timezone.now(),
            actor=actor,
            kind=kind,
            reason=f"{'agrees' if agrees else 'disagrees'} that the fix works{evidence}: "
            f"{statement}",
        )
        audit_record(
            actor=actor,
            action="case.fix_opinion",
            obj=case,
            data={"agrees": agrees, "run": run.pk if run else None},
        )
        case_projections_refresh(case_ids=[case.pk])
    return event
