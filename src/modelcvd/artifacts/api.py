"""Artifact endpoints: in-scope artifacts are public; coordinators register new ones."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, OPTIONAL_AUTH, api_actor, api_user
from modelcvd.accounts.models import Organisation, TokenScope
from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.artifacts.lineage import lineage_of
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import artifact_get_visible, artifact_list_visible
from modelcvd.artifacts.services import artifact_create
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.reports.document import SHA256

router = Router(tags=["artifacts"])


class ArtifactOut(Schema):
    id: int
    provider: str
    name: str
    version_label: str
    revision: str
    weights_digest: str
    access: str
    vendor: str | None
    parent_id: int | None
    relation: str
    lineage_source: str
    superseded_by_id: int | None
    cannot_be_patched: bool
    purl: str
    manifest_digest: str
    created_at: datetime

    @staticmethod
    def resolve_vendor(obj: Artifact) -> str | None:
        return obj.vendor.slug if obj.vendor else None


class ArtifactIn(Schema):
    provider: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    revision: str = Field("", max_length=200)
    version_label: str = Field("", max_length=100)
    weights_digest: str = Field(
        "",
        max_length=71,
        description="sha256, hex",
        json_schema_extra={"pattern": r"^\s*((sha256:)?[0-9a-fA-F]{64})?\s*$"},
    )
    access: Artifact.Access = Artifact.Access.OPEN_WEIGHTS
    vendor: str | None = Field(None, description="Slug of the vendor organisation.")
    parent_id: int | None = None
    relation: str = ""


@router.get("/artifacts", response=list[ArtifactOut], auth=OPTIONAL_AUTH, summary="Artifacts")
@token_scope(PUBLIC)
def artifacts(request: HttpRequest) -> QuerySet[Artifact]:
    return artifact_list_visible(actor=api_actor(request))


@router.get(
    "/artifacts/{artifact_id}", response=ArtifactOut, auth=OPTIONAL_AUTH, summary="One artifact"
)
@token_scope(PUBLIC)
def artifact(request: HttpRequest, artifact_id: int) -> Artifact:
    return artifact_get_visible(actor=api_actor(request), artifact_id=artifact_id)


@router.post(
    "/artifacts", response={201: ArtifactOut}, auth=API_AUTH, summary="Register a pinned artifact"
)
@token_scope(TokenScope.TRIAGE)
def register(request: HttpRequest, body: ArtifactIn) -> Status[Artifact]:
    digest = body.weights_digest.strip().lower()
    if digest and not SHA256.match(digest):
        raise InvalidInput([FieldError("weights_digest", "must be 64 hexadecimal characters")])
    vendor = None
    if body.vendor:
        vendor = Organisation.objects.filter(slug=body.vendor).first()
        if vendor is None:
            raise InvalidInput([FieldError("vendor", "no organisation with this slug")])
    parent = None
    if body.parent_id is not None:
        parent = artifact_get_visible(actor=api_actor(request), artifact_id=body.parent_id)
    created = artifact_create(
        actor=api_user(request),
        provider=body.provider,
        name=body.name,
        revision=body.revision,
        version_label=body.version_label,
        weights_digest=digest.removeprefix("sha256:"),
        access=body.access,
        vendor=vendor,
        parent=parent,
        relation=body.relation,
    )
    return Status(201, created)


class LineageNodeOut(Schema):
    id: int
    label: str
    relation: str
    lineage_source: str
    access: str
    cannot_be_patched: bool = Field(description="Open weights: only a new version can fix it.")
    superseded_by_id: int | None
    purl: str
    weights_digest: str
    children: list[LineageNodeOut]


class AncestorOut(Schema):
    id: int
    label: str


class LineageOut(Schema):
    artifact_id: int
    ancestors: list[AncestorOut] = Field(description="Root first; ends at the artifact's parent.")
    tree: LineageNodeOut = Field(description="Everything below the topmost visible ancestor.")
    truncated: bool


@router.get(
    "/artifacts/{artifact_id}/lineage",
    response=LineageOut,
    auth=OPTIONAL_AUTH,
    summary="Lineage graph of an artifact",
)
@token_scope(PUBLIC)
def lineage(request: HttpRequest, artifact_id: int) -> dict[str, object]:
    actor = api_actor(request)
    artifact = artifact_get_visible(actor=actor, artifact_id=artifact_id)
    return lineage_of(artifact, visible=artifact_list_visible(actor=actor)).to_dict()
