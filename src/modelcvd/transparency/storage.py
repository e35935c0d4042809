"""Reading the stored tree: its size and the perfect-subtree nodes a proof needs, in one query.

Shared by services (appends) and selectors (proofs); the maths is in transparency.merkle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import or_

from django.db.models import Q

from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry, LogNode


def log_size() -> int:
    """The number of entries: indexes are dense from 0, so the last index + 1."""
    last = LogEntry.objects.order_by("-index").values_list("index", flat=True).first()
    return 0 if last is None else last + 1


def node_getter(needed: set[merkle.Node]) -> merkle.NodeGetter:
    """A `node(level, index)` over the stored nodes in `needed`, fetched in one query."""
    found: dict[merkle.Node, bytes] = {}
    if needed:
        condition = reduce(or_, (Q(level=level, index=index) for level, index in needed))
        for level, index, value in LogNode.objects.filter(condition).values_list(
            "level", "index", "hash"
        ):
            found[(level, index)] = bytes.fromhex(value)

    def node(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            # A node every entry before it should have written: the storage is damaged.
            raise LookupError(f"log node {level}/{index} is missing") from None

    return node


def build(builder: Callable[[merkle.NodeGetter], merkle.T]) -> merkle.T:
    """Run a merkle builder over the stored nodes: a dry run finds them, one query reads them."""
    return builder(node_getter(merkle.nodes_needed(builder)))


def tree_root(size: int) -> bytes:
    return build(lambda node: merkle.tree_root(size, node))


def size_check(field: str, value: int, *, size: int, minimum: int = 0) -> None:
    if not minimum <= value <= size:
        raise InvalidInput([FieldError(field, f"must be between {minimum} and {size}")])
