"""API shapes for cases."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from modelcvd.cases.workflow import CaseState


class CaseBrief(Schema):
    id: int
    title: str
    program: str
    state: str
    created_at: datetime


class TimelineEventOut(Schema):
    case_id: int = Field(description="The case the event happened on: a merged-in case's own.")
    at: datetime
    actor: str
    kind: str
    from_state: str
    to_state: str
    reason: str


class CommentOut(Schema):
    id: int
    author: str
    body: str
    visibility: str
    created_at: datetime


class CaseOut(Schema):
    id: int
    title: str
    program: str
    state: str
    allowed_transitions: list[str] = Field(description="States this caller may move the case to.")
    report_ids: list[int]
    artifact_ids: list[int]
    vendor_notified_at: datetime | None
    merged_into_id: int | None = Field(description="Set when this case was merged into another.")
    created_at: datetime
    timeline: list[TimelineEventOut]


class TransitionIn(Schema):
    to: CaseState
    reason: str = Field(min_length=1, max_length=5000)


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=20_000)
    visibility: Literal["internal", "reporter", "vendor"] = Field(
        description="internal (coordinators only), reporter or vendor"
    )


class ConflictOut(Schema):
    detail: str
    current: str
    allowed: list[str]
