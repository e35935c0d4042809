"""Near-duplicate fingerprints of report payloads: normalise, shingle, MinHash, LSH bands.

Pure Python + numpy + datasketch, no Django: the product's index (reports.dedup_index) and the
benchmark (bench/registry_dedup.py) call exactly these functions.

Choices, and why:
- Normalisation is Unicode NFKC + casefold (the `toNFKC_Casefold` idea), punctuation and
  separators turned into spaces, format characters (zero-width spaces, bidi marks) dropped so
  that "ig<ZWSP>nore" and "ignore" match, whitespace collapsed. Jailbreak variants routinely
  differ only in case, spacing, quotes or smuggled invisible characters; none of that matters.
- Shingles are k = 3 consecutive words. One changed word removes at most k shingles, so a small
  k tolerates paraphrase-level edits, while k = 1 (a bag of words) finds unrelated texts made
  of the same common words alike, and long shingles make every edit count thrice over.
  bench/registry_dedup.py prints the separation (near-duplicate p5 Jaccard over unrelated
  p99.9) for k = 1..5 on its synthetic corpus: 3.21, 4.41, 3.67, 3.20, 2.82. k = 2 wins there;
  k = 3 is kept because real English repeats word pairs ("of the", "you are") far more than
  that vocabulary does. docs/dedup.md says so; re-check on real reports.
- A near-duplicate is a pair at Jaccard >= 0.5 (DUPLICATE_JACCARD). 120 permutations in 40
  bands of 3 rows make a pair a candidate with probability 1 - (1 - s^3)^40: 0.995 at s = 0.5,
  0.93 at 0.4, 0.04 at 0.1, 0.005 at 0.05, so a lookup touches few unrelated payloads.
  Candidates are ranked by the signature's Jaccard estimate (kept at >= ESTIMATE_FLOOR, below
  0.5 to absorb the estimate's noise, sd 0.046 at s = 0.5) and confirmed on the plaintext with
  rapidfuzz's token-sort ratio (>= EDIT_FLOOR), which a reordering of sentences does not
  defeat; tests/reports/engine checks reordered and unrelated texts on either side of it.
- Both steps are bounded, because a payload can be megabytes (issue 15, defect 10: the
  token-sort ratio is quadratic, 400k characters took 8.4 s). The MinHash is computed in numpy
  chunks (the same values datasketch gives, tests/reports/engine checks it). Beyond
  EDIT_CAP characters the token-sort ratio runs on a consistent sample of the word types (a
  type is kept in both texts or in neither, by its hash), so it compares like with like and
  stays near the ratio of the whole texts; bench/dedup_confirm.py measures an 8 MB pair.
- Shingles are hashed with a keyed BLAKE2b (the key never leaves the server), so a signature or
  a band key cannot be recomputed from a guessed payload by someone holding only the database.
  THREAT_MODEL.md says what the index still reveals.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash
from rapidfuzz import fuzz

SHINGLE_WORDS = 3
NUM_PERM = 120
BANDS = 40
ROWS = 3
DUPLICATE_JACCARD = 0.5
ESTIMATE_FLOOR = 0.4
EDIT_FLOOR = 0.7
# Normalised characters compared whole by the token-sort ratio; beyond, a sample of word types.
EDIT_CAP = 20_000
# Shingles per block of the permutation x shingle matrix (about 8 MB of uint32).
MINHASH_CHUNK = 1 << 14
assert BANDS * ROWS == NUM_PERM
SCHEME = "affine32"
PERMUTATION_SEED = 1  # public: secrecy comes from the keyed shingle hash, not the permutations


@cache
def _translation() -> dict[int, str | None]:
    """Punctuation, separators and control characters -> space; format characters -> removed."""
    table: dict[int, str | None] = {}
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if category == "Cf":
            table[cp] = None
        elif category[0] in "PZ" or category == "Cc":
            table[cp] = " "
    return table


@cache
def _ascii_table() -> bytes:
    """_translation() restricted to ASCII, with casefolding, as a bytes.translate table."""
    table = _translation()
    ascii_part = bytes(
        ord(" ") if table.get(cp, chr(cp)) == " " else ord(chr(cp).casefold()) for cp in range(128)
    )
    return ascii_part + bytes(range(128, 256))  # never looked up: only ASCII text comes here


def normalise(text: str) -> str:
    """NFKC + casefold, punctuation and whitespace collapsed to single spaces, no edges."""
    return " ".join(normalised_words(text))


def normalised_words(text: str) -> list[str]:
    """The words of normalise(text), without joining them: the fingerprint and the
    confirmation both split again, and on a megabyte payload the join and re-split cost more
    than the normalisation itself."""
    if text.isascii():
        # The same result for ASCII (NFKC leaves it alone, casefold is lower(), no format
        # characters), in a tenth of the time: payloads can be megabytes.
        return text.encode("ascii").translate(_ascii_table()).decode("ascii").split()
    table = _translation()
    text = text.translate(table)
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    # Casefolding and compatibility mapping can produce new punctuation (a fullwidth "!" becomes ASCII "!"): again.
    return text.translate(table).split()


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The set of k-word shingles of the normalised text; a shorter text is one shingle."""
    words = normalised_words(text)
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """Exact Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


_local = threading.local()


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    permutations = MinHash(num_perm=NUM_PERM, seed=PERMUTATION_SEED, scheme=SCHEME).permutations
    return permutations[0], permutations[1]


class ShingleHasher:
    """Keyed 64-bit hashes of k-word shingles, computed without a Python loop per shingle.

    Each distinct word is hashed once with keyed BLAKE2b (cached: word frequencies are
    Zipfian, so most words of a new payload are already known); a shingle's hash mixes its
    words' hashes position by position with splitmix64 in numpy. Without the key, neither the
    word hashes nor anything built on them can be recomputed from a guessed text.
    """

    def __init__(self, key: bytes, cache_size: int = 1 << 17) -> None:
        self._key = key
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size

    def word(self, word: str) -> int:
        found = self._cache.get(word)
        if found is None:
            digest = hashlib.blake2b(word.encode("utf-8"), key=self._key, digest_size=8).digest()
            found = int.from_bytes(digest, "little")
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # bounded: a flood of unique words cannot grow it forever
            self._cache[word] = found
        return found

    def shingles64(self, text: str, k: int = SHINGLE_WORDS) -> np.ndarray:
        """The distinct 64-bit hashes of the text's k-word shingles (sorted; empty if no word)."""
        words = normalised_words(text)
        if not words:
            return np.empty(0, dtype=np.uint64)
        # Each distinct word hashed once, then one C-level pass over the words (a megabyte
        # payload has a million of them): no Python-level step per word.
        table = {w: self._cache.get(w) or self.word(w) for w in set(words)}
        hashes = np.fromiter(map(table.__getitem__, words), dtype=np.uint64, count=len(words))
        width = min(k, len(words))
        with np.errstate(over="ignore"):
            acc = _mix64(np.full(len(words) - width + 1, width, dtype=np.uint64) * _GOLDEN)
            for offset in range(width):
                acc = _mix64(acc ^ hashes[offset : len(words) - width + 1 + offset])
        # Sort, then drop repeats: np.unique's hash-based path took 1.35 s on 1.4M shingles.
        acc.sort()
        return acc[np.concatenate(([True], acc[1:] != acc[:-1]))]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: spreads every input bit over the 64-bit output."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True)
class Fingerprint:
    """A payload's MinHash signature (NUM_PERM 32-bit values) and its LSH band keys."""

    signature: bytes
    bands: tuple[int, ...]
    shingle_count: int

    @property
    def values(self) -> np.ndarray:
        return signature_values(self.signature)


def signature_values(signature: bytes) -> np.ndarray:
    return np.frombuffer(signature, dtype="<u4")


def band_keys(values: np.ndarray) -> tuple[int, ...]:
    """One signed 64-bit key per band, from the band's number and its rows (numpy, no Python
    loop per band: it is on the path of every report and every lookup). Equal keys mean, but
    for a 2^-64 chance, that two signatures agree on every row of that band."""
    rows = np.asarray(values, dtype=np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        acc = _mix64(np.arange(1, BANDS + 1, dtype=np.uint64) * _GOLDEN)
        for column in range(ROWS):
            acc = _mix64(acc ^ rows[:, column])
    return tuple(acc.view(np.int64).tolist())


def fingerprint(text: str, *, hasher: ShingleHasher) -> Fingerprint | None:
    """The fingerprint of a payload text, or None when it has no words at all."""
    return fingerprint_of_shingles(hasher.shingles64(text))


def fingerprint_of_shingles(hashes: np.ndarray) -> Fingerprint | None:
    """The fingerprint of a set of keyed shingle hashes (ShingleHasher.shingles64)."""
    if not len(hashes):
        return None
    values = minhash_values((hashes >> np.uint64(32)).astype(np.uint32))
    return Fingerprint(
        signature=values.tobytes(), bands=band_keys(values), shingle_count=len(hashes)
    )


_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


def minhash_values(hashes32: np.ndarray) -> np.ndarray:
    """datasketch's affine32 MinHash of these 32-bit values (murmur3 fmix32 premix, then
    a * h + b mod 2^32 per permutation, minimum per permutation), in numpy chunks: datasketch
    converts its input through a Python list, 3.7 s for the 1.2M shingles of 8 MB."""
    a, b = _permutations()
    a32, b32 = a.astype(np.uint32), b.astype(np.uint32)
    s1, m1, s2, m2, s3 = _FMIX32
    with np.errstate(over="ignore"):
        hv = hashes32.astype(np.uint32)
        hv = hv ^ (hv >> np.uint32(s1))
        hv = hv * np.uint32(m1)
        hv = hv ^ (hv >> np.uint32(s2))
        hv = hv * np.uint32(m2)
        hv = hv ^ (hv >> np.uint32(s3))
        out = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
        # Permutations x shingles, so each minimum runs along contiguous memory, into one
        # reused buffer: five times faster than shingles x permutations reduced along axis 0
        # (0.18 s -> 0.03 s for 1.2M shingles).
        buffer = np.empty((NUM_PERM, min(MINHASH_CHUNK, len(hv))), dtype=np.uint32)
        for lo in range(0, len(hv), MINHASH_CHUNK):
            chunk = hv[lo : lo + MINHASH_CHUNK]
            block = buffer[:, : len(chunk)]
            np.multiply(a32[:, None], chunk[None, :], out=block)
            block += b32[:, None]
            np.minimum(out, block.min(axis=1), out=out)
    return out.astype("<u4")


def estimate_jaccard(query: np.ndarray, others: Iterable[bytes]) -> list[float]:
    """MinHash's Jaccard estimate: the share of signature positions that agree."""
    rows = [signature_values(o) for o in others]
    if not rows:
        return []
    matrix = np.vstack(rows)
    return [float(x) for x in (matrix == query).mean(axis=1)]


def edit_ratio(a: str, b: str) -> float:
    """rapidfuzz's token-sort ratio of the normalised texts, in [0, 1]: an edit distance that
    a reordering of sentences does not defeat. Past EDIT_CAP characters, the ratio of
    consistent samples of the texts (bounded_pair), so a long payload costs near-linear time."""
    left, right = _bounded_words(normalised_words(a), normalised_words(b), EDIT_CAP)
    return float(fuzz.token_sort_ratio(left, right)) / 100.0


def bounded_pair(a: str, b: str, cap: int = EDIT_CAP) -> tuple[str, str]:
    """The two normalised texts, or, when the longer is over `cap` characters, a consistent
    sample of each as a multiset of words: the i-th occurrence of a word is kept when
    i = crc32(word) mod rate (mod rate), the rate a power of two that leaves about `cap`
    characters of the longer text. Both texts share their first min(count_a, count_b)
    occurrences of a word, so they keep the same ones of those: the sample compares like with
    like, a word padded a million times is thinned like any other, and word order does not
    matter (the token-sort ratio sorts anyway). Linear in the texts; the ratio then runs on
    at most about 2 * `cap` characters."""
    return _bounded_words(a.split(), b.split(), cap)


def _bounded_words(a: list[str], b: list[str], cap: int) -> tuple[str, str]:
    """bounded_pair on texts already split into normalised words."""
    longest = max(_joined_length(a), _joined_length(b))
    if longest <= cap:
        return " ".join(a), " ".join(b)
    rate = 1
    while longest // rate > cap:
        rate *= 2
    return _sample(a, rate), _sample(b, rate)


def _joined_length(words: list[str]) -> int:
    return sum(map(len, words)) + max(len(words) - 1, 0)


def _sample(words: list[str], rate: int) -> str:
    kept = []
    for word, count in sorted(Counter(words).items()):
        # crc32, not hash(): stable across processes (str hashes are salted per process).
        offset = zlib.crc32(word.encode("utf-8")) % rate
        kept.extend([word] * len(range(offset, count, rate)))
    return " ".join(kept)


def candidate_probability(similarity: float, bands: int = BANDS, rows: int = ROWS) -> float:
    """Probability that a pair at this Jaccard similarity shares at least one band."""
    return float(1.0 - (1.0 - similarity**rows) ** bands)
