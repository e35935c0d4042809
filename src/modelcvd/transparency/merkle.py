"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.

Pure Python, no Django: the server builds proofs with it and any monitor (the CLI, a mirror, a
third party) verifies them with it. Section numbers below are RFC 9162's.

Storage model used by the builders: a *node* `(level, index)` is the root of the complete,
perfect subtree over leaves `[index * 2**level, (index + 1) * 2**level)`; level 0 is a leaf
hash. Such a node never changes once its last leaf exists, so the server stores each one at
append time. Every subtree the RFC's recursions need is either one such node or the
"partial right edge" of the tree, which is folded from O(log n) stored nodes. The builders take
a `node(level, index) -> bytes` callable, so one proof costs O(log n) node reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

NodeGetter = Callable[[int, int], bytes]
Node = tuple[int, int]
T = TypeVar("T")

EMPTY_ROOT = hashlib.sha256(b"").digest()


def canonical_bytes(body: Any) -> bytes:
    """The bytes a log entry's leaf commits to: canonical JSON of its body."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(data: bytes) -> bytes:
    """2.1.1: the hash of a leaf is SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """2.1.1: an interior node is SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf *hashes* (2.1.1), bottom-up: the root of the whole tree."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # an unpaired right node is promoted unchanged
        level = nxt
    return level[0]


# --- building from stored nodes ------------------------------------------------------------


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The aligned perfect subtrees that tile leaves [start, end), left to right, in the shape
    RFC 9162's recursion splits a subtree whose left edge is at `start` (a multiple of the
    largest power of two not above end - start)."""
    nodes: list[Node] = []
    while start < end:
        size = end - start
        width = 1 << (size.bit_length() - 1)  # the largest power of two <= size
        level = width.bit_length() - 1
        nodes.append((level, start >> level))
        start += width
    return nodes


def subtree_hash(start: int, end: int, node: NodeGetter) -> bytes:
    """MTH(D[start:end]) for a subtree of the RFC recursion, from the stored perfect nodes:
    fold the tiles right to left (the partial right edge)."""
    if start >= end:
        return EMPTY_ROOT
    tiles = [node(level, index) for level, index in perfect_nodes(start, end)]
    acc = tiles[-1]
    for tile in reversed(tiles[:-1]):
        acc = node_hash(tile, acc)
    return acc


def tree_root(size: int, node: NodeGetter) -> bytes:
    return subtree_hash(0, size, node)


def inclusion_path(index: int, size: int, node: NodeGetter) -> list[bytes]:
    """PATH(m, D[n]) (2.1.3.1), leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    # Walk down from the root recording siblings, then reverse (PATH lists leaf-first).
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_path(first: int, second: int, node: NodeGetter) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (2.1.4.1)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree_hash(start, end, node))
            break
        k = _split(n)
        if m <= k:
            proof.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, node))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


def nodes_needed(build: Callable[[NodeGetter], Any]) -> set[Node]:
    """The stored nodes a builder reads, found by a dry run, so a server fetches them in one
    query before building for real."""
    seen: set[Node] = set()

    def record(level: int, index: int) -> bytes:
        seen.add((level, index))
        return EMPTY_ROOT

    build(record)
    return seen


def new_nodes(index: int, leaf: bytes, node: NodeGetter) -> list[tuple[int, int, bytes]]:
    """The perfect nodes completed by appending leaf `index`: the leaf itself and each parent
    whose last leaf it is. Reads one left sibling per level (O(log n))."""
    made = [(0, index, leaf)]
    level, i, acc = 0, index, leaf
    while i % 2 == 1:
        acc = node_hash(node(level, i - 1), acc)
        level, i = level + 1, i // 2
        made.append((level, i, acc))
    return made


# --- verification (what a monitor runs) ----------------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree of `size` and `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """2.1.4.2: is the tree (size2, root2) an append-only extension of (size1, root1)?"""
    if not 0 <= size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # an exact power of two: the old root is a node of the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0
