"""Advisory endpoints: the public registry (search, one advisory at the reader's level,
revisions, exports) and the coordinators' writes (create, edit, move)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from modelcvd.accounts.auth import API_AUTH, OPTIONAL_AUTH, api_actor, api_user
from modelcvd.accounts.models import TokenScope, User
from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.advisories.caching import advisory_cached, registry_wide_cached
from modelcvd.advisories.render import (
    FILE_SUFFIX,
    advisory_export,
    advisory_render,
    render_public,
)
from modelcvd.advisories.schemas import (
    AdvisoryApproveIn,
    AdvisoryContent,
    AdvisoryEdit,
    AdvisoryPage,
    AdvisoryTransitionIn,
    RevisionOut,
)
from modelcvd.advisories.selectors import (
    advisory_attested_runs,
    advisory_get_visible,
    registry_page,
    registry_query_parse,
)
from modelcvd.advisories.services import (
    advisory_approve,
    advisory_create,
    advisory_transition,
    advisory_update,
)
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.policy.disclosure import Channel
from modelcvd.verification.services import attestation_export

router = Router(tags=["advisories"])


@router.get(
    "/advisories",
    response=AdvisoryPage,
    auth=OPTIONAL_AUTH,
    summary="Search the public registry (public level only)",
)
@token_scope(PUBLIC)
@registry_wide_cached("api:list", query=True)
def advisory_list(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    query = registry_query_parse(request.GET, actor=api_actor(request))
    found = registry_page(query)
    return {
        "count": found.count,
        "count_exact": found.count_exact,
        "page": query.page,
        "page_size": query.page_size,
        "results": [render_public(a) for a in found.advisories],
    }


@router.get(
    "/advisories/{advisory_id}",
    response=dict[str, Any],
    auth=OPTIONAL_AUTH,
    summary="One advisory at the level the caller is entitled to",
)
@token_scope(PUBLIC)
@advisory_cached("api:detail")
def advisory_detail(
    request: HttpRequest,
    advisory_id: str,
    response: HttpResponse,
    reason: str = Query(
        "",
        max_length=500,
        description="why you read the sealed reproduction (audited); without it a reader "
        "entitled to it gets `reproduction_sealed: true` instead",
    ),
) -> dict[str, Any]:
    actor = api_actor(request)
    advisory = advisory_get_visible(actor=actor, advisory_id=advisory_id)
    return advisory_render(advisory=advisory, actor=actor, channel=Channel.API, reason=reason)


@router.get(
    "/advisories/{advisory_id}/revisions",
    response=list[RevisionOut],
    auth=OPTIONAL_AUTH,
    summary="The advisory's revisions and their changelogs",
)
@token_scope(PUBLIC)
@advisory_cached("api:revisions")
def advisory_revisions(
    request: HttpRequest, advisory_id: str, response: HttpResponse
) -> list[dict[str, Any]]:
    advisory = advisory_get_visible(actor=api_actor(request), advisory_id=advisory_id)
    return [
        {"number": r.number, "changelog": r.changelog, "created_at": r.created_at}
        for r in advisory.revisions.order_by("number")
    ]


@router.get(
    "/advisories/{advisory_id}/attestations",
    response=list[dict[str, Any]],
    auth=OPTIONAL_AUTH,
    summary="The signed verification attestations published with the advisory (defender level; "
    "empty below it)",
)
@token_scope(PUBLIC)
def advisory_attestations(request: HttpRequest, advisory_id: str) -> list[dict[str, Any]]:
    actor = api_actor(request)
    advisory = advisory_get_visible(actor=actor, advisory_id=advisory_id)
    return [
        {
            "run_id": run.pk,
            "artifact": str(run.artifact),
            "verdict": (run.summary or {}).get("verdict", ""),
            "url": f"/api/v1/advisories/{advisory.advisory_id}/attestations/{run.pk}",
        }
        for run in advisory_attested_runs(actor=actor, advisory=advisory, channel=Channel.API)
    ]


@router.get(
    "/advisories/{advisory_id}/attestations/{run_id}",
    response=dict[str, Any],
    auth=OPTIONAL_AUTH,
    summary="One run's attestation bundle (DSSE envelope, log entry, inclusion proof, tree head)",
)
@token_scope(PUBLIC)
def advisory_attestation(request: HttpRequest, advisory_id: str, run_id: int) -> dict[str, Any]:
    actor = api_actor(request)
    advisory = advisory_get_visible(actor=actor, advisory_id=advisory_id)
    runs = advisory_attested_runs(actor=actor, advisory=advisory, channel=Channel.API)
    run = runs.filter(pk=run_id).first()
    if run is None:
        raise NotFound()  # the same answer as any missing page
    return attestation_export(actor=actor if isinstance(actor, User) else None, run=run)


@router.get(
    "/advisories/{advisory_id}/export/{fmt}",
    response=dict[str, Any],
    auth=OPTIONAL_AUTH,
    summary="The advisory as CVE 5.1, OSV, CSAF 2.0 VEX or AVID, at the caller's level",
)
@token_scope(PUBLIC)
@advisory_cached("api:export")
def advisory_export_one(
    request: HttpRequest, advisory_id: str, fmt: str, response: HttpResponse
) -> dict[str, Any]:
    if fmt not in FILE_SUFFIX:
        raise InvalidInput([FieldError("fmt", f"one of {sorted(FILE_SUFFIX)}")])
    actor = api_actor(request)
    advisory = advisory_get_visible(actor=actor, advisory_id=advisory_id)
    return advisory_export(advisory=advisory, actor=actor, fmt=fmt)


@router.post(
    "/cases/{case_id}/advisories",
    response={201: dict[str, Any]},
    auth=API_AUTH,
    summary="Draft an advisory for a case (coordinators)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def advisory_new(
    request: HttpRequest, case_id: int, body: AdvisoryContent
) -> Status[dict[str, Any]]:
    actor = api_user(request)
    advisory = advisory_create(actor=actor, case_id=case_id, content=body.model_dump(mode="json"))
    return Status(201, advisory_render(advisory=advisory, actor=actor, channel=Channel.API))


@router.patch(
    "/advisories/{advisory_id}",
    response=dict[str, Any],
    auth=API_AUTH,
    summary="Edit an advisory; after publication a changelog is required (a new revision)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def advisory_edit(request: HttpRequest, advisory_id: str, body: AdvisoryEdit) -> dict[str, Any]:
    actor = api_user(request)
    changes = body.model_dump(exclude={"changelog"}, exclude_unset=True)
    advisory = advisory_update(
        actor=actor, advisory_id=advisory_id, changes=changes, changelog=body.changelog
    )
    return advisory_render(advisory=advisory, actor=actor, channel=Channel.API)


@router.post(
    "/advisories/{advisory_id}/transition",
    response=dict[str, Any],
    auth=API_AUTH,
    summary="Move an advisory: draft, review, published, withdrawn",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def advisory_move(
    request: HttpRequest, advisory_id: str, body: AdvisoryTransitionIn
) -> dict[str, Any]:
    actor = api_user(request)
    advisory = advisory_transition(
        actor=actor,
        advisory_id=advisory_id,
        to=body.to,
        reason=body.reason,
        override_reason=body.override_reason,
    )
    return advisory_render(advisory=advisory, actor=actor, channel=Channel.API)


@router.post(
    "/advisories/{advisory_id}/approve",
    response=dict[str, Any],
    auth=API_AUTH,
    summary="Approve an advisory in review for publication (four eyes: not its requester)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def advisory_approve_route(
    request: HttpRequest, advisory_id: str, body: AdvisoryApproveIn
) -> dict[str, Any]:
    actor = api_user(request)
    advisory = advisory_approve(actor=actor, advisory_id=advisory_id, reason=body.reason)
    return advisory_render(advisory=advisory, actor=actor, channel=Channel.API)
