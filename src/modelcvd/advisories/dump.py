"""The OSV-style bulk dump: every public advisory as an OSV document, in the layout of OSV's
own data dumps (https://google.github.io/osv.dev/data/): `all.zip` with one `<ID>.json` per
record, `modified_id.csv` with a `<modified>,<ID>` line per record, newest first, and each
record on its own at `<ID>.json`. Withdrawn advisories stay in the dump with OSV's `withdrawn`
field, as OSV keeps its withdrawn records.

Deterministic: the same registry gives the same bytes (members in id order, fixed timestamps
and attributes in the zip, ties in the CSV broken by id), so a mirror or a CDN can compare
digests.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelcvd.advisories.access import PUBLIC_STATES
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.render import ExportRefused, export_view, render_public
from modelcvd.core.errors import NotFound
from modelcvd.interop.jsonio import document_bytes
from modelcvd.interop.osv import ID_PREFIX

# The zip epoch: every member carries it, so the archive does not depend on when it was built.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class DumpRecord:
    osv_id: str
    modified: str  # the document's own `modified` (RFC 3339, UTC, Z)
    content: bytes  # the file, byte for byte


def dump_record_of(advisory: Advisory) -> DumpRecord | None:
    """The advisory's OSV record as the dump serves it (None when OSV cannot express it). The
    transparency log's advisory-revision entry carries the sha256 of `content`, so a mirror can
    check the bytes it downloaded. The revision number is in `database_specific.revision`."""
    return dump_record_from_view(render_public(advisory))


def dump_record_from_view(view: dict[str, Any]) -> DumpRecord | None:
    """The OSV record of an advisory's public view (as render_public gives it, or as a stored
    revision redacted to the public level: the log's backfill rebuilds past records so)."""
    try:
        document = export_view(view, "osv")
    except ExportRefused:
        return None  # not expressible in OSV (the export says why); not in the dump either
    if view["state"] == Advisory.State.WITHDRAWN:
        document["withdrawn"] = document["modified"]  # the withdrawal is the last revision
    document["database_specific"]["revision"] = view["revision"]
    return DumpRecord(document["id"], document["modified"], document_bytes(document))


def dump_records() -> Iterator[DumpRecord]:
    """Every public advisory's OSV record, in id order."""
    rows = (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .order_by("advisory_id")
        .only("advisory_id", "document", "reproduction_level")
    )
    for advisory in rows.iterator(chunk_size=500):
        record = dump_record_of(advisory)
        if record is not None:
            yield record


def dump_record(*, osv_id: str) -> DumpRecord:
    """One record of the dump by its OSV id; NotFound when there is none."""
    if not osv_id.startswith(ID_PREFIX):
        raise NotFound()
    advisory = (
        Advisory.objects.filter(advisory_id=osv_id[len(ID_PREFIX) :], state__in=PUBLIC_STATES)
        .only("advisory_id", "document", "reproduction_level")
        .first()
    )
    record = dump_record_of(advisory) if advisory is not None else None
    if record is None:
        raise NotFound()
    return record


def modified_id_csv(records: list[DumpRecord]) -> bytes:
    """`<modified>,<ID>` a line, newest first (OSV's modified_id.csv)."""
    ordered = sorted(records, key=lambda r: (r.modified, r.osv_id), reverse=True)
    return "".join(f"{r.modified},{r.osv_id}\n" for r in ordered).encode()


def all_zip(records: list[DumpRecord]) -> bytes:
    """Every record as `<ID>.json`, deflated, in id order, with fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for record in sorted(records, key=lambda r: r.osv_id):
            info = zipfile.ZipInfo(f"{record.osv_id}.json", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, wherever it is built
            info.external_attr = 0o100644 << 16
            archive.writestr(info, record.content, compresslevel=6)
    return buffer.getvalue()
