"""Mirroring an OSV-style dump (advisories/dump.py on the serving side) into a directory.

The dump lists every record as `<modified>,<ID>` in `modified_id.csv`; a mirror keeps the last
listing it synced beside the records, so a later run fetches only the records whose
`modified` changed or that are new, and removes those the dump no longer lists. Many records
to fetch (a first run) come from `all.zip` in one download; a few, one by one.

Every record fetched is checked before it is written: it is JSON, names itself by the id it was
listed under, carries the listed `modified`, and passes `verify` (the transparency log: see
cli/mirror.py). Records are written byte for byte as served, each through a temporary file and a
rename; the listing is written last, so an interrupted or refused run is redone next time.
No Django and no network here: `fetch(name) -> bytes` is given.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LISTING = "modified_id.csv"
ARCHIVE = "all.zip"
# A record id as OSV allows it (and as a file name it is harmless: no separators, no dots
# leading).
RECORD_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
# Fetch the whole archive rather than records one by one from this many on.
BULK_FROM = 50

Fetch = Callable[[str], bytes]
Verify = Callable[[str, bytes, dict[str, object]], None]


class MirrorError(Exception):
    """The dump or a record in it is not what it claims; `record` names it when there is one."""

    def __init__(self, message: str, *, record: str = "") -> None:
        super().__init__(f"{record}: {message}" if record else message)
        self.record = record


@dataclass
class MirrorResult:
    listed: int = 0
    fetched: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    bulk: bool = False


def listing_parse(content: bytes) -> dict[str, str]:
    """`modified_id.csv` as {id: modified}; MirrorError naming the line when one is malformed."""
    listed: dict[str, str] = {}
    try:
        text = content.decode()
    except UnicodeDecodeError as error:
        raise MirrorError(f"{LISTING} is not UTF-8 ({error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        modified, _, record = line.partition(",")
        if not RECORD_ID.match(record) or not modified:
            raise MirrorError(f"{LISTING} line {number} is not `<modified>,<ID>`: {line[:80]!r}")
        if record in listed:
            raise MirrorError(f"{LISTING} lists {record} twice")
        listed[record] = modified
    return listed


def _checked(record: str, content: bytes, modified: str, verify: Verify | None) -> bytes:
    try:
        document = json.loads(content)
    except ValueError:
        raise MirrorError("not a JSON document", record=record) from None
    if not isinstance(document, dict) or document.get("id") != record:
        raise MirrorError("the document does not carry the id it is listed under", record=record)
    if document.get("modified") != modified:
        raise MirrorError(
            f"modified {document.get('modified')!r} differs from the listing's {modified!r}",
            record=record,
        )
    if verify is not None:
        verify(record, content, document)
    return content


def _write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def mirror_sync(
    *, fetch: Fetch, out: Path, verify: Verify | None = None, bulk_from: int = BULK_FROM
) -> MirrorResult:
    """Bring `out` to the dump's state (module docstring); MirrorError, naming the record,
    when a record is malformed or fails `verify` (nothing of that record is written). From
    `bulk_from` changed records on, the whole archive is fetched instead."""
    out.mkdir(parents=True, exist_ok=True)
    listing_bytes = fetch(LISTING)
    listed = listing_parse(listing_bytes)
    local_path = out / LISTING
    local = listing_parse(local_path.read_bytes()) if local_path.exists() else {}
    wanted = sorted(
        record
        for record, modified in listed.items()
        if local.get(record) != modified or not (out / f"{record}.json").exists()
    )
    result = MirrorResult(listed=len(listed), bulk=len(wanted) >= bulk_from)
    archive: zipfile.ZipFile | None = None
    if result.bulk:
        try:
            archive = zipfile.ZipFile(io.BytesIO(fetch(ARCHIVE)))
        except zipfile.BadZipFile:
            raise MirrorError(f"{ARCHIVE} is not a zip archive") from None
    for record in wanted:
        if archive is not None:
            try:
                content = archive.read(f"{record}.json")
            except KeyError:
                raise MirrorError(f"listed but missing from {ARCHIVE}", record=record) from None
        else:
            content = fetch(f"{record}.json")
        _write(out / f"{record}.json", _checked(record, content, listed[record], verify))
        result.fetched.append(record)
    present = {p.name.removesuffix(".json") for p in out.glob("*.json")}
    for record in sorted(present - set(listed)):
        (out / f"{record}.json").unlink()
        result.removed.append(record)
    _write(local_path, listing_bytes)
    return result
