"""The persistent near-duplicate index: one signature row and BANDS band rows per report.

The index lives in two ordinary tables (PayloadSignature, PayloadBand), so it persists with the
database, is backed up with it, works the same on SQLite and PostgreSQL, and is updated one
report at a time: indexing a report replaces only that report's rows. A lookup is two indexed
queries (the band keys, then the candidates' signatures), never a scan, never a rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from modelcvd.reports.dedup import (
    ESTIMATE_FLOOR,
    Fingerprint,
    ShingleHasher,
    estimate_jaccard,
)
from modelcvd.reports.models import PayloadBand, PayloadSignature


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


def index_lookup(
    *,
    fingerprint: Fingerprint,
    key_id: str,
    organisation_id: int | None = None,
    exclude_report_ids: Sequence[int] = (),
    floor: float = ESTIMATE_FLOOR,
    limit: int = 50,
) -> list[IndexMatch]:
    """Reports whose signature shares a band with `fingerprint` and whose estimated Jaccard is
    at least `floor`, best first. `organisation_id` keeps the search inside one coordinator's
    programs: a proposal never points a triager at another organisation's report."""
    bucket_hits = (
        PayloadBand.objects.filter(bucket__in=fingerprint.bands)
        .values_list("report_id", flat=True)
        .distinct()
    )
    ids = [i for i in bucket_hits if i not in set(exclude_report_ids)]
    if not ids:
        return []
    rows = PayloadSignature.objects.filter(report_id__in=ids, key_id=key_id)
    if organisation_id is not None:
        rows = rows.filter(report__program__organisation_id=organisation_id)
    found = list(rows.values_list("report_id", "signature"))
    estimates = estimate_jaccard(fingerprint.values, [bytes(s) for _, s in found])
    matches = [
        IndexMatch(report_id=rid, jaccard=j)
        for (rid, _), j in zip(found, estimates, strict=True)
        if j >= floor
    ]
    matches.sort(key=lambda m: (-m.jaccard, m.report_id))
    return matches[:limit]
