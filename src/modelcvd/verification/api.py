"""Verification endpoints: request a run on a case, follow its progress, cancel it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.cases.selectors import case_get_visible
from modelcvd.verification.matrix import matrices_for_case, matrix_get_for
from modelcvd.verification.models import Target, VerificationRun
from modelcvd.verification.selectors import (
    run_get_visible,
    run_progress,
    runs_visible_for_case,
    target_get_for,
    targets_visible,
    version_matrix,
)
from modelcvd.verification.services import (
    fix_opinion_record,
    matrix_request,
    matrix_vendor_bring_in,
    reverification_request,
    run_cancel,
    run_request,
    target_offer,
    target_register,
    target_retire,
)

router = Router(tags=["verification"], auth=API_AUTH)


class RunIn(Schema):
    artifact_id: int = Field(description="The pinned artifact the replay must run on.")
    target: str = Field(
        "",
        max_length=500,
        description="hf:DIR (under MODELCVD_MODEL_DIRS) or openai:URL#MODEL (no credential); "
        "or leave empty and name a registered target_id",
    )
    target_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="A registered target pinned to artifact_id (its credential is used).",
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
        target_id=body.target_id,
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


class TargetIn(Schema):
    organisation: str = Field(max_length=100, description="slug of the organisation it is for")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["endpoint", "local"]
    artifact_id: int = Field(
        ge=1, le=2**63 - 1, description="The artifact version the target serves."
    )
    url: str = Field("", max_length=500, description="endpoint: base URL, e.g. .../v1")
    model_name: str = Field("", max_length=200, description="endpoint: the server's model name")
    api_key: str = Field(
        "", max_length=4000, description="endpoint: bearer token, sealed; never shown again"
    )
    local_dir: str = Field("", max_length=1000, description="local: a directory under MODEL_DIRS")
    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000)
    max_concurrency: int = Field(4, ge=1, le=64)


class TargetOut(Schema):
    id: int
    organisation: str
    name: str
    kind: str
    artifact_id: int
    artifact: str
    url: str
    model_name: str
    credential_set: bool = Field(description="Whether a credential is stored (never its value).")
    local_dir: str
    digest: str
    requests_per_minute: int | None
    max_concurrency: int
    offered_to: list[str] = Field(description="Slugs of the programs it is offered to.")
    active: bool
    created_at: datetime


class OfferIn(Schema):
    program: str = Field(min_length=1, max_length=100, description="slug of the program")
    offered: bool = Field(True, description="false withdraws the offer")


class MatrixIn(Schema):
    target_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=20)
    trials: int = Field(ge=1, le=10_000)
    sequential: bool = Field(False, description="Each run stops early once its SPRT decides.")
    base_seed: int | None = Field(None, ge=0, le=2**63 - 1)


class CellOut(Schema):
    harm_category: str
    runs: list[int]
    states: list[str]
    successes: int
    trials: int
    rate: float | None
    clopper_pearson: list[float] | None = Field(description="Exact 95% interval.")
    decision: str = Field(description="reproduced, not_reproduced, blocked, undecided, pending")


class MatrixRowOut(Schema):
    target_id: int
    target: str
    organisation: str
    artifact_id: int
    artifact: str
    cells: list[CellOut]
    successes: int
    trials: int
    rate: float | None
    clopper_pearson: list[float] | None
    reproduced: bool
    tried: bool


class FractionOut(Schema):
    reproduced: int
    tried: int


class ProposalOut(Schema):
    organisation: str
    name: str
    artifact_id: int
    artifact: str
    target_id: int


class MatrixOut(Schema):
    id: int
    case_id: int
    trials: int
    sequential: bool
    categories: list[str]
    rows: list[MatrixRowOut]
    transfer: FractionOut = Field(description="targets reproduced / targets tried")
    universality: FractionOut = Field(description="harm categories reproduced / tried")
    proposals: list[ProposalOut] = Field(
        description="Coordinators only: vendors a reproduced cell shows affected, not yet told."
    )


class BringInIn(Schema):
    organisation: str = Field(min_length=1, max_length=100, description="slug of the vendor")
    reason: str = Field(min_length=1, max_length=5000)


class BringInOut(Schema):
    case: int
    organisation: str
    notified_at: datetime


def target_out(target: Target) -> dict[str, Any]:
    return {
        "id": target.pk,
        "organisation": target.organisation.slug,
        "name": target.name,
        "kind": target.kind,
        "artifact_id": target.artifact_id,
        "artifact": str(target.artifact),
        "url": target.url,
        "model_name": target.model_name,
        "credential_set": target.credential_id is not None,
        "local_dir": target.local_dir,
        "digest": target.digest,
        "requests_per_minute": target.requests_per_minute,
        "max_concurrency": target.max_concurrency,
        "offered_to": sorted(p.slug for p in target.offered_to.all()),
        "active": target.active,
        "created_at": target.created_at,
    }


@router.get("/verification/targets", response=list[TargetOut], summary="Targets you may use")
@token_scope(TokenScope.READ)
def target_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [target_out(t) for t in targets_visible(actor=api_user(request))]


@router.post(
    "/verification/targets", response={201: TargetOut}, summary="Register a verification target"
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def target_create(request: HttpRequest, body: TargetIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    target = target_register(actor=user, **body.dict())
    return Status(201, target_out(target_get_for(actor=user, target_id=target.pk)))


@router.get("/verification/targets/{target_id}", response=TargetOut, summary="One target")
@token_scope(TokenScope.READ)
def target_detail(request: HttpRequest, target_id: int) -> dict[str, Any]:
    return target_out(target_get_for(actor=api_user(request), target_id=target_id))


@router.post(
    "/verification/targets/{target_id}/offer",
    response=TargetOut,
    summary="Offer a target to a program's coordinators, or withdraw the offer",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def target_offer_op(request: HttpRequest, target_id: int, body: OfferIn) -> dict[str, Any]:
    user = api_user(request)
    target_offer(actor=user, target_id=target_id, program=body.program, offered=body.offered)
    return target_out(target_get_for(actor=user, target_id=target_id))


@router.post(
    "/verification/targets/{target_id}/retire",
    response=TargetOut,
    summary="Stop new runs on a target",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def target_retire_op(request: HttpRequest, target_id: int) -> dict[str, Any]:
    user = api_user(request)
    target_retire(actor=user, target_id=target_id)
    return target_out(target_get_for(actor=user, target_id=target_id))


@router.post(
    "/cases/{case_id}/matrices",
    response={201: MatrixOut},
    summary="Run the case's reports on several targets (a transfer matrix)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def matrix_create(request: HttpRequest, case_id: int, body: MatrixIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    group = matrix_request(
        case_id=case_id,
        actor=user,
        target_ids=body.target_ids,
        trials=body.trials,
        sequential=body.sequential,
        base_seed=body.base_seed,
    )
    return Status(201, matrix_get_for(actor=user, group_id=group.pk).to_dict())


@router.get(
    "/cases/{case_id}/matrices", response=list[MatrixOut], summary="Transfer matrices of a case"
)
@token_scope(TokenScope.READ)
def case_matrices(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    user = api_user(request)
    case = case_get_visible(actor=user, case_id=case_id)
    return [m.to_dict() for m in matrices_for_case(actor=user, case=case)]


@router.get("/matrices/{group_id}", response=MatrixOut, summary="One transfer matrix")
@token_scope(TokenScope.READ)
def matrix_detail(request: HttpRequest, group_id: int) -> dict[str, Any]:
    return matrix_get_for(actor=api_user(request), group_id=group_id).to_dict()


@router.post(
    "/matrices/{group_id}/vendors",
    response={201: BringInOut},
    summary="Bring in a vendor a reproduced cell shows affected (an audited notify)",
)
@token_scope(TokenScope.TRIAGE)
def matrix_bring_in(request: HttpRequest, group_id: int, body: BringInIn) -> Status[dict[str, Any]]:
    party = matrix_vendor_bring_in(
        actor=api_user(request),
        group_id=group_id,
        organisation=body.organisation,
        reason=body.reason,
    )
    return Status(
        201,
        {
            "case": party.case_id,
            "organisation": body.organisation,
            "notified_at": party.notified_at,
        },
    )
