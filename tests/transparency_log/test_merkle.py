"""The Merkle maths against an independent, naive transcription of RFC 9162's recursive
definitions (MTH, PATH, PROOF/SUBPROOF), for every size 1..70 and random pairs beyond."""

from __future__ import annotations

import hashlib
import random

import pytest

from modelcvd.transparency import merkle


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over the entries' *data* (2.1.1), recursively, as the RFC writes it."""
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: list[bytes]) -> list[bytes]:
    return naive_subproof(m, d, True)


def _data(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


class Stored:
    """Node storage as the server keeps it, filled by `new_nodes` one append at a time."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, data: bytes) -> None:
        for level, index, value in merkle.new_nodes(self.size, merkle.leaf_hash(data), self.node):
            self.nodes[(level, index)] = value
        self.size += 1


@pytest.fixture(scope="module")
def stored() -> tuple[list[bytes], Stored]:
    data = _data(140)
    store = Stored()
    for item in data:
        store.append(item)
    return data, store


def test_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"x") == _h(b"\x00x")
    assert merkle.node_hash(b"a", b"b") == _h(b"\x01ab")
    assert merkle.leaf_hash(b"\x01ab") != merkle.node_hash(b"a", b"b")
    assert merkle.root_from_leaves([]) == _h(b"")


@pytest.mark.parametrize("n", range(1, 71))
def test_roots_paths_and_proofs_match_the_rfc_recursion(
    n: int, stored: tuple[list[bytes], Stored]
) -> None:
    data, store = stored
    d = data[:n]
    root = naive_mth(d)
    leaves = [merkle.leaf_hash(x) for x in d]
    assert merkle.root_from_leaves(leaves) == root
    assert merkle.tree_root(n, store.node) == root
    for m in range(n):
        path = merkle.inclusion_path(m, n, store.node)
        assert path == naive_path(m, d)
        assert merkle.verify_inclusion(leaves[m], m, n, path, root)
    for m in range(1, n + 1):
        proof = merkle.consistency_path(m, n, store.node)
        assert proof == (naive_proof(m, d) if m < n else [])
        assert merkle.verify_consistency(m, n, naive_mth(d[:m]), root, proof)


def test_random_pairs_in_a_larger_tree(stored: tuple[list[bytes], Stored]) -> None:
    data, store = stored
    rng = random.Random(9162)
    for _ in range(200):
        n = rng.randint(1, len(data))
        m = rng.randint(1, n)
        d = data[:n]
        root, old_root = naive_mth(d), naive_mth(d[:m])
        assert merkle.consistency_path(m, n, store.node) == (naive_proof(m, d) if m < n else [])
        leaf = rng.randrange(n)
        path = merkle.inclusion_path(leaf, n, store.node)
        assert path == naive_path(leaf, d)
        assert merkle.verify_inclusion(merkle.leaf_hash(d[leaf]), leaf, n, path, root)
        assert merkle.verify_consistency(
            m, n, old_root, root, merkle.consistency_path(m, n, store.node)
        )


def test_proofs_read_only_logarithmically_many_nodes() -> None:
    for size in (1_000_000, 2**20, 2**20 + 1, 999_999):
        for index in (0, size // 3, size - 1):
            needed = merkle.nodes_needed(lambda g, i=index, s=size: merkle.inclusion_path(i, s, g))
            assert len(needed) <= 2 * size.bit_length()
        needed = merkle.nodes_needed(lambda g, s=size: merkle.consistency_path(s // 2 + 1, s, g))
        assert len(needed) <= 3 * size.bit_length()


def test_forgeries_fail(stored: tuple[list[bytes], Stored]) -> None:
    data, store = stored
    n, m = 37, 5
    d = data[:n]
    root = naive_mth(d)
    path = merkle.inclusion_path(m, n, store.node)
    leaf = merkle.leaf_hash(d[m])
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), m, n, path, root)
    assert not merkle.verify_inclusion(leaf, m + 1, n, path, root)  # reordered
    assert not merkle.verify_inclusion(leaf, m, n, path[:-1], root)
    assert not merkle.verify_inclusion(leaf, m, n, [*path, root], root)
    assert not merkle.verify_inclusion(leaf, n, n, path, root)
    proof = merkle.consistency_path(20, n, store.node)
    old = naive_mth(d[:20])
    assert merkle.verify_consistency(20, n, old, root, proof)
    assert not merkle.verify_consistency(20, n, naive_mth(data[1:21]), root, proof)  # forked
    assert not merkle.verify_consistency(20, n, old, naive_mth(data[: n - 1]), proof)
    assert not merkle.verify_consistency(20, n, old, root, proof[:-1])
    assert not merkle.verify_consistency(20, n, old, root, [])
    assert not merkle.verify_consistency(n, 20, root, old, proof)  # truncated
    assert not merkle.verify_consistency(20, 20, old, root, [])
    assert merkle.verify_consistency(0, n, merkle.EMPTY_ROOT, root, [])


def test_canonical_bytes_are_the_documented_encoding() -> None:
    assert merkle.canonical_bytes({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
