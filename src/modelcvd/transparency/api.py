"""The transparency log's public, read-only API: the latest signed tree head, inclusion and
consistency proofs, entries by range or by what they are about. Anyone may read it."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.core.errors import NotFound
from modelcvd.transparency import selectors
from modelcvd.transparency.models import LogEntry
from modelcvd.transparency.schemas import (
    ConsistencyProofOut,
    EntriesOut,
    EntryProofOut,
    InclusionProofOut,
    TreeHeadOut,
)
from modelcvd.vocabulary import LogEntryKind

router = Router(tags=["transparency log"])


def entry_out(entry: LogEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "kind": entry.kind,
        "ref": entry.ref,
        "body": json.loads(entry.body),
        "leaf_hash": entry.leaf_hash,
        "created_at": entry.created_at.isoformat(),
    }


# The largest index or size a query may name: a trillion entries, far past any log (node keys
# shift the index by 6 bits into a 64-bit column). A larger number is a 422 naming the field,
# never an overflow inside the query.
MAX_INDEX = 2**40


class InclusionQuery(Schema):
    index: int = Field(ge=0, le=MAX_INDEX, description="The entry's index")
    size: int = Field(
        ge=1, le=MAX_INDEX, description="The tree size the proof is for (a signed head's size)"
    )


class ConsistencyQuery(Schema):
    first: int = Field(ge=0, le=MAX_INDEX, description="The older tree size")
    second: int = Field(ge=0, le=MAX_INDEX, description="The newer tree size")


class EntriesQuery(Schema):
    start: int = Field(ge=0, le=MAX_INDEX, description="First index")
    end: int = Field(
        ge=0,
        le=MAX_INDEX,
        description=f"One past the last index (at most {selectors.ENTRIES_PAGE})",
    )


class RefQuery(Schema):
    kind: LogEntryKind
    # No control characters: no ref has one, and PostgreSQL refuses a NUL in a query.
    ref: str = Field(
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description='What the entry is about, e.g. "MCVD-2026-0001@2"',
    )


@router.get("/log/tree-head", response=TreeHeadOut, auth=None, summary="Latest signed tree head")
@token_scope(PUBLIC)
def tree_head(request: HttpRequest) -> dict[str, Any]:
    head = selectors.tree_head_latest()
    if head is None:
        raise NotFound()  # none signed yet
    return head.as_dict()


@router.get(
    "/log/proof/inclusion",
    response=InclusionProofOut,
    auth=None,
    summary="Inclusion proof of one entry in a tree of a given size",
)
@token_scope(PUBLIC)
def inclusion(request: HttpRequest, query: Query[InclusionQuery]) -> dict[str, Any]:
    proof = selectors.inclusion_proof(index=query.index, size=query.size)
    return {
        "index": proof.index,
        "size": proof.size,
        "leaf_hash": proof.leaf_hash,
        "path": proof.path,
    }


@router.get(
    "/log/proof/consistency",
    response=ConsistencyProofOut,
    auth=None,
    summary="Consistency proof between two tree sizes",
)
@token_scope(PUBLIC)
def consistency(request: HttpRequest, query: Query[ConsistencyQuery]) -> dict[str, Any]:
    proof = selectors.consistency_proof(first=query.first, second=query.second)
    return {"first": proof.first, "second": proof.second, "path": proof.path}


@router.get("/log/entries", response=EntriesOut, auth=None, summary="Entries by index range")
@token_scope(PUBLIC)
def entries(request: HttpRequest, query: Query[EntriesQuery]) -> dict[str, Any]:
    found = [entry_out(e) for e in selectors.entries(start=query.start, end=query.end)]
    end = found[-1]["index"] + 1 if found else query.start
    return {"start": query.start, "end": end, "entries": found}


@router.get(
    "/log/entry",
    response=EntryProofOut,
    auth=None,
    summary="The latest entry about a ref, with its inclusion proof in the latest signed head",
)
@token_scope(PUBLIC)
def entry_by_ref(request: HttpRequest, query: Query[RefQuery]) -> dict[str, Any]:
    entry = selectors.entry_for_ref(query.kind, query.ref)
    if entry is None:
        raise NotFound()
    head = selectors.tree_head_latest()
    if head is None or head.size <= entry.index:
        return {"entry": entry_out(entry), "tree_head": None, "inclusion": None}
    proof = selectors.inclusion_proof(index=entry.index, size=head.size)
    return {
        "entry": entry_out(entry),
        "tree_head": head.as_dict(),
        "inclusion": {
            "index": proof.index,
            "size": proof.size,
            "leaf_hash": proof.leaf_hash,
            "path": proof.path,
        },
    }
