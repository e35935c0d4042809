"""Reading the stored tree: its size and the perfect-subtree nodes a proof needs, in one query.

Shared by services (appends) and selectors (proofs); the maths is in transparency.merkle.
"""

from __future__ import annotations

from collections.abc import Callable

from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry, LogNode, node_key


def log_size() -> int:
    """The number of entries: indexes are dense from 0, so the last index + 1."""
    last = LogEntry.objects.order_by("-index").values_list("index", flat=True).first()
    return 0 if last is None else last + 1


def node_getter(needed: set[merkle.Node]) -> merkle.NodeGetter:
    """A `node(level, index)` over the stored nodes in `needed`, fetched in one query."""
    found: dict[int, bytes] = {}
    if needed:
        keys = [node_key(level, index) for level, index in needed]
        for key, value in LogNode.objects.filter(key__in=keys).values_list("key", "hash"):
            found[key] = bytes.fromhex(value)

    def node(level: int, index: int) -> bytes:
        try:
            return found[node_key(level, index)]
        except KeyError:
            raise LookupError(f"log node {level}/{index} is missing") from None

    return node


def build(builder: Callable[[merkle.NodeGetter], merkle.T], *, size: int | None = None) -> merkle.T:
    """Run a merkle builder over the stored nodes: a dry run finds them, one query reads them.
    With `size`, the same query also fetches the last leaf of a tree of that size, and a
    missing one means the log is smaller: SizeMissing."""
    needed = merkle.nodes_needed(builder)
    if size is not None:
        needed.add((0, size - 1))
    node = node_getter(needed)
    if size is not None:
        try:
            node(0, size - 1)
        except LookupError:
            raise SizeMissing(size) from None
    return builder(node)


class SizeMissing(LookupError):
    """The log has fewer entries than the size asked for."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the log has fewer than {size} entries")
        self.size = size


def tree_root(size: int) -> bytes:
    return build(lambda node: merkle.tree_root(size, node))


def size_check(field: str, value: int, *, size: int, minimum: int = 0) -> None:
    if not minimum <= value <= size:
        raise InvalidInput([FieldError(field, f"must be between {minimum} and {size}")])
