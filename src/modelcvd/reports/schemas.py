"""API shapes for reports. The request body is the report format itself (ReportDocument)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelcvd.reports.document import ArtifactRef, HarmCategory, Reproduction, Technique, Text


class ArtifactBrief(Schema):
    id: int
    provider: str
    name: str
    revision: str
    version_label: str
    weights_digest: str


class ReportOut(Schema):
    id: int
    title: str
    abstract: str
    program: str
    case_id: int
    case_state: str
    reporter: str = Field(description="The reporter's public name (pseudonym when set).")
    artifacts: list[ArtifactBrief]
    owasp: str
    atlas: str
    harm_category: str
    sampling: dict[str, float | int | None] = Field(
        description="Empty for a held-out benchmark item the caller may not see."
    )
    successes: int | None = Field(description="None for a held-out item the caller may not see.")
    trials: int | None = Field(description="None for a held-out item the caller may not see.")
    expected_behaviour: str
    observed_behaviour: str
    impact: str
    created_at: datetime
    intake: str = Field(description="complete, or an abstract-first step still open.")
    held_out: bool = Field(description="The payload is a held-out benchmark item.")


class UnsealIn(Schema):
    reason: str = Field(
        min_length=1, max_length=1000, description="Why the payload is read; audited."
    )


class TurnOut(Schema):
    role: str
    content: str


class PayloadOut(Schema):
    system_prompt: str
    turns: list[TurnOut]


class AttachmentOut(Schema):
    id: int
    filename: str
    kind: str
    size: int
    created_at: datetime


class AbstractDocument(BaseModel):
    """The first step of abstract-first intake: everything but the payload.

    A payload sent here is refused with a 422 naming `reproduction`: the program wants the
    scope checked before any working exploit is handed over.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[str, Field(min_length=3, max_length=200)]
    abstract: Annotated[str, Field(min_length=1, max_length=5_000)]
    program: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    artifacts: list[ArtifactRef] = Field(min_length=1, max_length=20)
    technique: Technique
    harm_category: HarmCategory
    expected_behaviour: Text = ""
    observed_behaviour: Text = ""
    impact: Text = ""
    reproduction: None = Field(
        None, description="Not accepted here: upload it once a triager has confirmed scope."
    )

    @field_validator("reproduction", mode="before")
    @classmethod
    def _no_payload(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(
                "the payload is not accepted with the abstract; upload it after a triager "
                "confirms the report is in scope"
            )
        return None


class ScopeDecisionIn(Schema):
    in_scope: bool
    reason: str = Field(min_length=1, max_length=5000)


class PayloadIn(Schema):
    reproduction: Reproduction
