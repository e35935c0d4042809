"""The files of a CSAF 2.0 trusted provider (CSAF 2.0 section 7), as plain data.

Everything sits under one root, `<BASE_URL>/.well-known/csaf` (requirement 9):

    provider-metadata.json                      requirement 7 (role csaf_trusted_provider)
    openpgp/<FINGERPRINT>.asc                   requirement 20: the public key
    <tlp>/csaf-feed-tlp-<tlp>.json              requirement 15: one ROLIE feed per TLP label
    <tlp>/index.txt, <tlp>/changes.csv          requirements 12, 13
    <tlp>/<YYYY>/<file name>.json               requirements 2 (file name per 5.1), 11 (year of
                                                the initial release date, UTC)
    <tlp>/<YYYY>/<file name>.json.sha256|.sha512  requirement 18 (sha256sum's format)
    <tlp>/<YYYY>/<file name>.json.asc           requirement 19 (detached, armoured)

`tlp` is the label in lower case (`white`). This module builds the documents from entries and
URLs; the advisories app decides what is in them (the public level only) and signs.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelcvd.interop.advisory import TlpLabel, iso_utc
from modelcvd.interop.csaf import CSAF_VERSION, csaf_file_name

WELL_KNOWN = "/.well-known/csaf"
CSAF_SCHEMA = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
ROLIE_CATEGORY = {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
HASH_ALGORITHMS = ("sha256", "sha512")


@dataclass(frozen=True)
class ProviderEntry:
    """One distributed document: its tracking id, title and release dates."""

    tracking_id: str
    title: str
    initial_release: datetime
    current_release: datetime

    @property
    def file_name(self) -> str:
        return csaf_file_name(self.tracking_id)

    @property
    def path(self) -> str:
        """Relative to the TLP folder: `<YYYY>/<file name>`, the year in UTC (requirement 11)."""
        return f"{iso_utc(self.initial_release)[:4]}/{self.file_name}"


def tlp_folder(tlp: TlpLabel) -> str:
    return tlp.lower()


def feed_file_name(tlp: TlpLabel) -> str:
    return f"csaf-feed-tlp-{tlp_folder(tlp)}.json"


def feed_url(root_url: str, tlp: TlpLabel) -> str:
    return f"{root_url}/{tlp_folder(tlp)}/{feed_file_name(tlp)}"


def key_url(root_url: str, fingerprint: str) -> str:
    return f"{root_url}/openpgp/{fingerprint}.asc"


def provider_metadata(
    *,
    root_url: str,
    publisher: dict[str, str],
    tlps: Sequence[TlpLabel],
    fingerprint: str,
    last_updated: datetime,
) -> dict[str, Any]:
    """provider-metadata.json (requirement 7): a trusted provider distributing by ROLIE, one
    feed per TLP label, with the public OpenPGP key that signs every document."""
    return {
        "canonical_url": f"{root_url}/provider-metadata.json",
        "distributions": [
            {
                "rolie": {
                    "feeds": [
                        {
                            "summary": f"All TLP:{tlp} advisories of {publisher['name']}.",
                            "tlp_label": tlp,
                            "url": feed_url(root_url, tlp),
                        }
                        for tlp in tlps
                    ]
                }
            }
        ],
        "last_updated": iso_utc(last_updated),
        "list_on_CSAF_aggregators": True,
        "metadata_version": CSAF_VERSION,
        "mirror_on_CSAF_aggregators": True,
        "public_openpgp_keys": [
            {"fingerprint": fingerprint, "url": key_url(root_url, fingerprint)}
        ],
        "publisher": publisher,
        "role": "csaf_trusted_provider",
    }


def document_url(root_url: str, tlp: TlpLabel, entry: ProviderEntry) -> str:
    return f"{root_url}/{tlp_folder(tlp)}/{entry.path}"


def rolie_feed(
    *,
    root_url: str,
    tlp: TlpLabel,
    publisher_name: str,
    entries: Sequence[ProviderEntry],
    updated: datetime,
) -> dict[str, Any]:
    """The ROLIE feed (RFC 8322, JSON, requirement 15) of one TLP label: an entry per document
    with its hash and signature links, newest change first."""
    url = feed_url(root_url, tlp)
    ordered = sorted(entries, key=lambda e: (e.current_release, e.tracking_id), reverse=True)
    return {
        "feed": {
            "id": f"{publisher_name}-csaf-feed-tlp-{tlp_folder(tlp)}",
            "title": f"{publisher_name} CSAF feed (TLP:{tlp})",
            "link": [{"rel": "self", "href": url}],
            "category": [ROLIE_CATEGORY],
            "updated": iso_utc(updated),
            "entry": [_feed_entry(root_url, tlp, e) for e in ordered],
        }
    }


def _feed_entry(root_url: str, tlp: TlpLabel, entry: ProviderEntry) -> dict[str, Any]:
    url = document_url(root_url, tlp, entry)
    return {
        "id": entry.tracking_id,
        "title": entry.title,
        "link": [
            {"rel": "self", "href": url},
            *({"rel": "hash", "href": f"{url}.{algorithm}"} for algorithm in HASH_ALGORITHMS),
            {"rel": "signature", "href": f"{url}.asc"},
        ],
        "published": iso_utc(entry.initial_release),
        "updated": iso_utc(entry.current_release),
        "content": {"type": "application/json", "src": url},
        "format": {"schema": CSAF_SCHEMA, "version": CSAF_VERSION},
    }


def index_txt(entries: Iterable[ProviderEntry]) -> str:
    """index.txt (requirement 12): every document's path relative to the TLP folder."""
    return "".join(f"{path}\n" for path in sorted(e.path for e in entries))


def changes_csv(entries: Iterable[ProviderEntry]) -> str:
    """changes.csv (requirement 13): path and current release date, newest first."""
    rows = sorted(
        ((e.path, iso_utc(e.current_release)) for e in entries),
        key=lambda row: (row[1], row[0]),
        reverse=True,
    )
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def hash_file(data: bytes, file_name: str, algorithm: str) -> str:
    """A `.sha256` / `.sha512` file (requirement 18), as sha256sum and sha512sum write it."""
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"unknown hash algorithm {algorithm!r}; one of {HASH_ALGORITHMS}")
    return f"{hashlib.new(algorithm, data).hexdigest()}  {file_name}\n"
