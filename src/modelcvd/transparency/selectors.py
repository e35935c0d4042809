"""Reads of the transparency log. The log is public: no read is scoped to an actor, and every
answer is the same for everyone (that is the point of it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry, SignedTreeHead
from modelcvd.transparency.storage import SizeMissing, build, log_size, size_check
from modelcvd.vocabulary import LogEntryKind

# The most entries one `entries` call returns.
ENTRIES_PAGE = 1000


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: str
    path: list[str]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[str]


def tree_size() -> int:
    return log_size()


def tree_head_latest() -> SignedTreeHead | None:
    return SignedTreeHead.objects.order_by("-size", "-id").first()


def _too_big(field: str) -> InvalidInput:
    return InvalidInput([FieldError(field, f"must not exceed the log's size, {log_size()}")])


def inclusion_proof(*, index: int, size: int) -> InclusionProof:
    """The audit path of entry `index` in the tree of `size` entries (RFC 9162 2.1.3.1). One
    query: the path's nodes, the entry's leaf (node 0/index) and the size's last leaf."""
    if size < 1:
        raise InvalidInput([FieldError("size", "must be at least 1")])
    if not 0 <= index < size:
        raise InvalidInput([FieldError("index", f"must be between 0 and {size - 1}")])
    leaf: list[bytes] = []

    def path_and_leaf(node: merkle.NodeGetter) -> list[bytes]:
        leaf[:] = [node(0, index)]
        return merkle.inclusion_path(index, size, node)

    try:
        path = build(path_and_leaf, size=size)
    except SizeMissing:
        raise _too_big("size") from None
    return InclusionProof(
        index=index, size=size, leaf_hash=leaf[0].hex(), path=[p.hex() for p in path]
    )


def consistency_proof(*, first: int, second: int) -> ConsistencyProof:
    """The proof that the tree of `second` entries extends the one of `first` (2.1.4.1)."""
    if second < 0:
        raise InvalidInput([FieldError("second", "must not be negative")])
    if not 0 <= first <= second:
        raise InvalidInput([FieldError("first", f"must be between 0 and second, {second}")])
    if second == 0:
        return ConsistencyProof(first=first, second=second, path=[])
    try:
        path = build(lambda node: merkle.consistency_path(first, second, node), size=second)
    except SizeMissing:
        raise _too_big("second") from None
    return ConsistencyProof(first=first, second=second, path=[p.hex() for p in path])


def entries(*, start: int, end: int) -> QuerySet[LogEntry]:
    """Entries with start <= index < end (at most ENTRIES_PAGE of them), in index order."""
    current = log_size()
    size_check("start", start, size=current)
    if not start <= end:
        raise InvalidInput([FieldError("end", "must not be before start")])
    end = min(end, current, start + ENTRIES_PAGE)
    return LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index")


def entry_for_ref(kind: LogEntryKind, ref: str) -> LogEntry | None:
    """The latest entry of `kind` about `ref`, if any."""
    return LogEntry.objects.filter(kind=kind, ref=ref).order_by("-index").first()
