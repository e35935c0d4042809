"""Verification endpoints: request a run on a case, follow its progress, cancel it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.cases.selectors import case_get_visible
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import (
    run_get_visible,
    run_progress,
    runs_visible_for_case,
    version_matrix,
)
from modelcvd.verification.services import (
    attestation_export,
    fix_opinion_record,
    reverification_request,
    run_cancel,
    run_request,
)

router = Router(tags=["verification"], auth=API_AUTH)


class RunIn(Schema):
    artifact_id: int = Field(description="The pinned artifact the replay must run on.")
    target: str = Field(
        max_length=500, description="hf:DIR (under MODELCVD_MODEL_DIRS) or openai:URL#MODEL"
    )
    trials: int = Field(ge=1, le=10_000)
    judge: Literal["refusal"] = "refusal"
    sequential: bool = Field(False, description="Stop early once an SPRT decides.")
    base_seed: int | None = Field(None, ge=0, le=2**63 - 1)


class RunOut(Schema):
    id: int
    case_id: int
    artifact_id: int
    artifact: str
    target: str
    judge: str
    state: str
    trials: int
    done: int = Field(description="Trials finished and stored so far.")
    successes: int
    interval: list[float] | None = Field(
        description="Wilson 95% interval over the trials done so far."
    )
    summary: dict[str, Any] | None = Field(description="The engine's summary once finished.")
    error: str
    created_at: datetime
    finished_at: datetime | None


class VersionRowOut(Schema):
    artifact_id: int
    artifact: str
    run_id: int
    successes: int
    trials: int
    rate: float
    wilson: list[float]
    verdict: str


def run_out(run: VerificationRun) -> dict[str, Any]:
    progress = run_progress(run)
    return {
        "id": run.pk,
        "case_id": run.case_id,
        "artifact_id": run.artifact_id,
        "artifact": str(run.artifact),
        "target": run.target_uri,
        "judge": run.judge,
        "state": run.state,
        "trials": run.trials,
        "done": progress.done,
        "successes": progress.successes,
        "interval": list(progress.interval) if progress.interval else None,
        "summary": run.summary,
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


@router.post(
    "/cases/{case_id}/verifications", response={201: RunOut}, summary="Queue a verification run"
)
@token_scope(TokenScope.TRIAGE)
def request_run(request: HttpRequest, case_id: int, body: RunIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    run = run_request(
        case_id=case_id,
        actor=user,
        artifact_id=body.artifact_id,
        target=body.target,
        trials=body.trials,
        judge=body.judge,
        sequential=body.sequential,
        base_seed=body.base_seed,
    )
    return Status(201, run_out(run_get_visible(actor=user, run_id=run.pk)))


@router.get(
    "/cases/{case_id}/verifications", response=list[RunOut], summary="Runs of a case with progress"
)
@token_scope(TokenScope.READ)
def case_runs(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    return [run_out(r) for r in runs_visible_for_case(actor=api_user(request), case_id=case_id)]


@router.get(
    "/cases/{case_id}/versions",
    response=list[VersionRowOut],
    summary="Success rate per artifact version",
)
@token_scope(TokenScope.READ)
def versions(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    case = case_get_visible(actor=api_user(request), case_id=case_id)
    return [
        {**row.__dict__, "wilson": list(row.wilson)}
        for row in version_matrix(case=case, actor=api_user(request))
    ]


@router.get("/verifications/{run_id}", response=RunOut, summary="One run with progress")
@token_scope(TokenScope.READ)
def run_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return run_out(run_get_visible(actor=api_user(request), run_id=run_id))


@router.get(
    "/verifications/{run_id}/attestation",
    response=dict[str, Any],
    summary="The run's signed attestation (in-toto Statement in a DSSE envelope, with its "
    "log inclusion proof)",
)
@token_scope(TokenScope.READ)
def run_attestation(request: HttpRequest, run_id: int) -> dict[str, Any]:
    user = api_user(request)
    return attestation_export(actor=user, run=run_get_visible(actor=user, run_id=run_id))


@router.post("/verifications/{run_id}/cancel", response=RunOut, summary="Cancel a run")
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def cancel(request: HttpRequest, run_id: int) -> dict[str, Any]:
    user = api_user(request)
    run_get_visible(actor=user, run_id=run_id)
    run_cancel(run_id=run_id, actor=user)
    return run_out(run_get_visible(actor=user, run_id=run_id))


class ReverifyIn(Schema):
    artifact_id: int = Field(
        description="The fixed version: a new revision of an affected artifact."
    )
    trials: int = Field(ge=1, le=10_000)
    target: str | None = Field(
        None,
        max_length=500,
        description="hf:DIR under MODELCVD_MODEL_DIRS, or an endpoint the coordinators used; "
        "default: the coordinators' latest target for this version",
    )


class FixOpinionIn(Schema):
    agrees: bool = Field(description="true: the fix works for me; false: it does not.")
    statement: str = Field(min_length=1, max_length=5000)
    run_id: int | None = Field(None, description="A verification run of this case as evidence.")


class ConflictDetail(Schema):
    detail: str


class FixOpinionOut(Schema):
    case_id: int
    kind: str
    at: datetime
    reason: str


@router.post(
    "/cases/{case_id}/reverifications",
    response={201: RunOut, 409: ConflictDetail},
    summary="Reporter: re-verify the announced fix on the fixed version (409 before a fix)",
)
@token_scope(TokenScope.SUBMIT)
def reverify(request: HttpRequest, case_id: int, body: ReverifyIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    run = reverification_request(
        case_id=case_id,
        actor=user,
        artifact_id=body.artifact_id,
        trials=body.trials,
        target=body.target,
    )
    return Status(201, run_out(run_get_visible(actor=user, run_id=run.pk)))


@router.post(
    "/cases/{case_id}/fix-opinion",
    response={201: FixOpinionOut, 409: ConflictDetail},
    summary="Reporter: agree or disagree that the fix works (on the timeline; 409 before a fix)",
)
@token_scope(TokenScope.SUBMIT)
def fix_opinion(request: HttpRequest, case_id: int, body: FixOpinionIn) -> Status[dict[str, Any]]:
    event = fix_opinion_record(
        case_id=case_id,
        actor=api_user(request),
        agrees=body.agrees,
        statement=body.statement,
        run_id=body.run_id,
    )
    return Status(
        201, {"case_id": case_id, "kind": event.kind, "at": event.at, "reason": event.reason}
    )
