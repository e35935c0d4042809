"""The persistent near-duplicate index: one signature row and BANDS band rows per report.

The index lives in two ordinary tables (PayloadSignature, PayloadBand), so it persists with the
database, is backed up with it, works the same on SQLite and PostgreSQL, and is updated one
report at a time: indexing a report replaces only that report's rows. A lookup is one query: an
index search on the band keys, then primary-key lookups of the candidates' signatures; never a
scan, never a rebuild.
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
    # One round trip, written out: this runs on every arriving report and the ORM would spend
    # longer composing it than the database spends answering it. The inner query is an index
    # search on (bucket, report); the outer ones are primary-key lookups.
    band, signature = PayloadBand._meta.db_table, PayloadSignature._meta.db_table
    report, program = Report._meta.db_table, Program._meta.db_table
    marks = ", ".join(["%s"] * len(fingerprint.bands))
    # Table names come from the models' meta; every value is a parameter.
    sql = (
        f"SELECT s.report_id, s.signature FROM {signature} s "  # noqa: S608
        f"WHERE s.report_id IN (SELECT b.report_id FROM {band} b WHERE b.bucket IN ({marks})) "
        "AND s.key_id = %s"
    )
    params: list[int | str] = [*fingerprint.bands, key_id]
    if organisation_id is not None:
        sql = sql.replace(
            f"FROM {signature} s ",
            f"FROM {signature} s JOIN {report} r ON r.id = s.report_id "
            f"JOIN {program} p ON p.id = r.program_id ",
        )
        sql += " AND p.organisation_id = %s"
        params.append(organisation_id)
    with connection.cursor() as cursor:
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
