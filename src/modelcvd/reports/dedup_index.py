"""The persistent near-duplicate index: one signature row and BANDS band rows per report.

The index lives in two ordinary tables (PayloadSignature, PayloadBand), so it persists with the
database, is backed up with it, works the same on SQLite and PostgreSQL, and is updated one
report at a time: indexing a report replaces only that report's rows. A lookup is an index-only
count and one query: an index search on the band keys, then primary-key lookups of the
candidates' signatures; never a scan, never a rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from modelcvd.policy.models import Program
from modelcvd.reports.dedup import (
    ESTIMATE_FLOOR,
    Fingerprint,
    ShingleHasher,
    estimate_jaccard,
)
from modelcvd.reports.models import PayloadBand, PayloadSignature, Report


def dedup_key() -> bytes:
    """The shingle-hash key, derived from the server's SECRET_KEY (never stored in the
    database): without it nobody can fingerprint a guessed payload and look it up."""
    return salted_hmac("modelcvd.dedup.shingle-key", "v1", algorithm="sha256").digest()


def key_id_of(key: bytes) -> str:
    """A public name for a shingle key, stored on each signature row."""
    return "dk-" + hashlib.sha256(b"modelcvd-dedup-key-id" + key).hexdigest()[:16]


@cache
def _hasher(key: bytes) -> ShingleHasher:
    return ShingleHasher(key)


def current_hasher() -> tuple[ShingleHasher, str]:
    key = dedup_key()
    return _hasher(key), key_id_of(key)


@dataclass(frozen=True)
class IndexMatch:
    report_id: int
    jaccard: float  # MinHash estimate


def index_store(*, report_id: int, fingerprint: Fingerprint | None, key_id: str) -> None:
    """Replace this report's rows, and only them, in one transaction."""
    with transaction.atomic():
        PayloadBand.objects.filter(report_id=report_id).delete()
        if fingerprint is None:
            PayloadSignature.objects.filter(report_id=report_id).delete()
            return
        PayloadSignature.objects.update_or_create(
            report_id=report_id,
            defaults={
                "key_id": key_id,
                "signature": fingerprint.signature,
                "shingle_count": fingerprint.shingle_count,
                "indexed_at": timezone.now(),
            },
        )
        PayloadBand.objects.bulk_create(
            [PayloadBand(report_id=report_id, bucket=b) for b in set(fingerprint.bands)]
        )


# Above this many band rows for one lookup, a candidate must share at least two bands with the
# query. Popular buckets (a common framing, a stock system prompt) grow with the index, and
# each candidate costs a signature read: without a bound the slowest lookups grow linearly
# with the number of stored payloads. Sharing two of 40 bands is what a near-duplicate does
# anyway: at Jaccard 0.5 a pair shares 5 bands on average and fewer than two with probability
# 0.03 (0.001 at 0.6), while a pair at 0.1-0.3, most of a popular bucket, shares one at most.
# docs/dedup.md has the measurements; bench/registry_dedup.py checks the recall.
HOT_LOOKUP_ROWS = 500


def index_lookup(
    *,
    fingerprint: Fingerprint,
    key_id: str,
    organisation_id: int | None = None,
    exclude_report_ids: Sequence[int] = (),
    floor: float = ESTIMATE_FLOOR,
    limit: int = 50,
) -> list[IndexMatch]:
    """Reports whose signature shares a band with `fingerprint` (two bands when the query's
    buckets are crowded: HOT_LOOKUP_ROWS) and whose estimated Jaccard is at least `floor`,
    best first. `organisation_id` keeps the search inside one coordinator's programs: a
    proposal never points a triager at another organisation's report."""
    # Two round trips, written out: this runs on every arriving report and the ORM would spend
    # longer composing them than the database spends answering. The first counts the band rows
    # (an index-only count); the second is an index search on (bucket, report), grouped, then
    # primary-key lookups of the candidates' signatures.
    band, signature = PayloadBand._meta.db_table, PayloadSignature._meta.db_table
    report, program = Report._meta.db_table, Program._meta.db_table
    marks = ", ".join(["%s"] * len(fingerprint.bands))
    buckets = list(fingerprint.bands)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {band} WHERE bucket IN ({marks})",  # noqa: S608
            buckets,
        )
        (rows,) = cursor.fetchone()
        # Table names come from the models' meta; every value is a parameter.
        if rows > HOT_LOOKUP_ROWS:
            candidates = (
                f"SELECT b.report_id FROM {band} b WHERE b.bucket IN ({marks}) "  # noqa: S608
                "GROUP BY b.report_id HAVING COUNT(*) >= 2"
            )
        else:
            candidates = f"SELECT b.report_id FROM {band} b WHERE b.bucket IN ({marks})"  # noqa: S608
        sql = f"SELECT s.report_id, s.signature FROM {signature} s "  # noqa: S608
        params: list[int | str] = [*buckets, key_id]
        if organisation_id is not None:
            sql += f"JOIN {report} r ON r.id = s.report_id JOIN {program} p ON p.id = r.program_id "
        sql += f"WHERE s.report_id IN ({candidates}) AND s.key_id = %s"
        if organisation_id is not None:
            sql += " AND p.organisation_id = %s"
            params.append(organisation_id)
        cursor.execute(sql, params)
        excluded = set(exclude_report_ids)
        found = [(rid, bytes(sig)) for rid, sig in cursor.fetchall() if rid not in excluded]
    estimates = estimate_jaccard(fingerprint.values, [sig for _, sig in found])
    matches = [
        IndexMatch(report_id=rid, jaccard=j)
        for (rid, _), j in zip(found, estimates, strict=True)
        if j >= floor
    ]
    matches.sort(key=lambda m: (-m.jaccard, m.report_id))
    return matches[:limit]
