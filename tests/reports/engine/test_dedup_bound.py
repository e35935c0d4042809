"""The bounded duplicate confirmation (issue 15, defect 10): an 8 MB near-duplicate is
confirmed and an 8 MB unrelated payload rejected through the bounded path; the bound changes
nothing below EDIT_CAP; the numpy MinHash is datasketch's, value for value; the ASCII fast path
of normalise is the general path. Timings live in bench/dedup_confirm.py, not here."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from modelcvd.reports.dedup import (
    EDIT_CAP,
    EDIT_FLOOR,
    NUM_PERM,
    SCHEME,
    ShingleHasher,
    _permutations,
    _translation,
    bounded_pair,
    edit_ratio,
    minhash_values,
    normalise,
)

MEGABYTES_8 = 8_000_000


def _words(seed: int, vocabulary: list[str], size: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(vocabulary)
        out.append(word)
        length += len(word) + 1
    return out


def _vocabulary(seed: int, n: int = 5000) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(n)
    ]


def test_an_8_mb_near_duplicate_is_confirmed_and_an_unrelated_one_rejected() -> None:
    vocabulary = _vocabulary(1)
    words = _words(2, vocabulary, MEGABYTES_8)
    original = " ".join(words)
    rng = random.Random(3)
    edited = [rng.choice(vocabulary) if rng.random() < 0.05 else w for w in words]
    cut = len(edited) // 3
    near = " ".join(edited[cut:] + edited[:cut]).upper()  # edited, rotated, recased
    unrelated = " ".join(_words(4, _vocabulary(5), MEGABYTES_8))
    left, right = bounded_pair(normalise(near), normalise(original))
    assert max(len(left), len(right)) <= 2 * EDIT_CAP  # the ratio ran on a bounded sample
    assert edit_ratio(near, original) >= EDIT_FLOOR
    assert edit_ratio(unrelated, original) < EDIT_FLOOR


def test_one_word_padded_a_million_times_is_thinned_too() -> None:
    padded = "please " * 1_200_000
    left, right = bounded_pair(normalise(padded), normalise(padded + "now"))
    assert len(left) <= 2 * EDIT_CAP and len(right) <= 2 * EDIT_CAP
    assert edit_ratio(padded, padded + "now") >= EDIT_FLOOR


def test_the_sample_keeps_the_same_occurrences_of_both_texts() -> None:
    text = normalise(" ".join(_words(6, _vocabulary(7, 300), 200_000)))
    shuffled = text.split()
    random.Random(8).shuffle(shuffled)
    a, b = bounded_pair(text, " ".join(shuffled))
    assert a == b  # word order does not change what is kept


def test_below_the_cap_the_ratio_is_the_whole_token_sort_ratio() -> None:
    a = " ".join(_words(9, _vocabulary(10), EDIT_CAP // 2))
    b = " ".join(_words(11, _vocabulary(10), EDIT_CAP // 2))
    assert bounded_pair(normalise(a), normalise(b)) == (normalise(a), normalise(b))
    assert edit_ratio(a, b) == fuzz.token_sort_ratio(normalise(a), normalise(b)) / 100.0


def test_the_numpy_minhash_is_datasketchs() -> None:
    hasher = ShingleHasher(b"k" * 32)
    shingles = hasher.shingles64(" ".join(_words(12, _vocabulary(13), 300_000)))
    values = (shingles >> np.uint64(32)).astype(np.uint32)
    reference = MinHash(
        num_perm=NUM_PERM, hashfunc=int, permutations=_permutations(), scheme=SCHEME
    )
    reference.update_batch(values.tolist())
    expected = np.asarray(reference.hashvalues).astype("<u4")
    assert np.array_equal(minhash_values(values), expected)


def _general_normalise(text: str) -> str:
    table = _translation()
    text = text.translate(table)
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(text.translate(table).split())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_fast_path_is_the_general_one(text: str) -> None:
    assert normalise(text) == _general_normalise(text)
