"""The CSAF 2.0 trusted provider at `/.well-known/csaf/` (docs/csaf-provider.md): what it
distributes and the bytes of each file. Reads only; the layout is interop/csaf_provider.py.

Only the public level is distributed, as TLP:WHITE: each document is the public render of a
published (or withdrawn) advisory, exactly what the anonymous registry shows; nothing at the
defender or vendor level is ever rendered here, so no TLP:GREEN or AMBER feed exists. Every
file is a function of the advisories' current revisions (and the key), so a response is the
same bytes for as long as the revision is: the signature is made once per document and
cached (core/openpgp.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from modelcvd.advisories.access import PUBLIC_STATES
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.render import export_view, render_public
from modelcvd.core.errors import NotFound
from modelcvd.core.openpgp import openpgp_public_key, signature_for
from modelcvd.interop import csaf_provider as layout
from modelcvd.interop.advisory import TlpLabel
from modelcvd.interop.csaf import csaf_file_name
from modelcvd.interop.jsonio import document_bytes

# The TLP labels distributed: the public level only (interop/advisory.py TLP_BY_LEVEL).
TLPS: tuple[TlpLabel, ...] = ("WHITE",)
# provider-metadata's last_updated before anything is published: a fixed moment, so the
# document stays byte-stable.
NOTHING_YET = datetime(1970, 1, 1, tzinfo=UTC)


def root_url() -> str:
    return f"{settings.BASE_URL}{layout.WELL_KNOWN}"


def publisher() -> dict[str, str]:
    """The publisher every distributed document names (render._export writes the same)."""
    return {
        "category": "coordinator",
        "name": settings.PUBLISHER_NAME,
        "namespace": settings.BASE_URL,
    }


def tlp_for_folder(folder: str) -> TlpLabel:
    """The TLP label a folder distributes; NotFound for any other folder."""
    for tlp in TLPS:
        if layout.tlp_folder(tlp) == folder:
            return tlp
    raise NotFound()


def _entry(
    advisory_id: str, title: str, published: datetime | None, modified: datetime
) -> layout.ProviderEntry:
    return layout.ProviderEntry(
        tracking_id=advisory_id,
        title=title,
        initial_release=published or modified,
        current_release=modified,
    )


def provider_entries() -> list[layout.ProviderEntry]:
    """Every distributed document (public advisories), oldest first."""
    rows = (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .order_by("published_at", "id")
        .values_list("advisory_id", "title", "published_at", "modified_at")
    )
    return [_entry(*row) for row in rows.iterator(chunk_size=2000)]


def _last_updated(entries: list[layout.ProviderEntry]) -> datetime:
    return max((e.current_release for e in entries), default=NOTHING_YET)


def provider_metadata_bytes() -> bytes:
    key = openpgp_public_key()
    return document_bytes(
        layout.provider_metadata(
            root_url=root_url(),
            publisher=publisher(),
            tlps=TLPS,
            fingerprint=key.fingerprint,
            last_updated=_last_updated(provider_entries()),
        )
    )


def public_key_bytes(fingerprint: str) -> bytes:
    key = openpgp_public_key()
    if fingerprint.upper() != key.fingerprint:
        raise NotFound()
    return key.armored.encode("ascii")


def feed_bytes(tlp: TlpLabel) -> bytes:
    entries = provider_entries()
    return document_bytes(
        layout.rolie_feed(
            root_url=root_url(),
            tlp=tlp,
            publisher_name=settings.PUBLISHER_NAME,
            entries=entries,
            updated=_last_updated(entries),
        )
    )


def index_bytes(tlp: TlpLabel) -> bytes:
    return layout.index_txt(provider_entries()).encode("utf-8")


def changes_bytes(tlp: TlpLabel) -> bytes:
    return layout.changes_csv(provider_entries()).encode("utf-8")


@dataclass(frozen=True)
class ProviderDocument:
    entry: layout.ProviderEntry
    data: bytes  # the CSAF JSON document, as served


def provider_document(tlp: TlpLabel, year: str, file_name: str) -> ProviderDocument:
    """The document at `<tlp>/<year>/<file name>`; NotFound unless a public advisory lives
    exactly there (its export refused counts as missing too: ExportRefused propagates)."""
    # Ids are MCVD-YYYY-NNNN: the file name is the id in lower case (section 5.1), so the id
    # is the stem in upper case; an exact match keeps the lookup on the unique index.
    stem = file_name.removesuffix(".json")
    candidates = Advisory.objects.filter(state__in=PUBLIC_STATES, advisory_id=stem.upper())
    for advisory in candidates:
        entry = _entry(
            advisory.advisory_id, advisory.title, advisory.published_at, advisory.modified_at
        )
        if (
            csaf_file_name(advisory.advisory_id) == file_name
            and entry.path == f"{year}/{file_name}"
        ):
            document = export_view(
                render_public(advisory),
                "csaf",
                csaf_url=layout.document_url(root_url(), tlp, entry),
            )
            label = document["document"]["distribution"]["tlp"]["label"]
            if label != tlp:  # the public render is WHITE; anything else never ships here
                raise NotFound()
            return ProviderDocument(entry=entry, data=document_bytes(document))
    raise NotFound()


def provider_companion(tlp: TlpLabel, year: str, file_name: str, suffix: str) -> bytes:
    """`.sha256`, `.sha512` or `.asc` of a document (requirements 18, 19)."""
    document = provider_document(tlp, year, file_name)
    if suffix == "asc":
        return signature_for(document.data).encode("ascii")
    return layout.hash_file(document.data, file_name, suffix).encode("ascii")


def provider_files() -> Iterator[tuple[str, bytes]]:
    """Every file of the provider as (path under `/.well-known/csaf/`, bytes): what a mirror
    of it holds (`modelcvd export --format csaf-provider`). A document whose export is refused
    raises ExportRefused, as the web answers it."""
    entries = provider_entries()
    yield "provider-metadata.json", provider_metadata_bytes()
    key = openpgp_public_key()
    yield f"openpgp/{key.fingerprint}.asc", key.armored.encode("ascii")
    for tlp in TLPS:
        folder = layout.tlp_folder(tlp)
        yield f"{folder}/{layout.feed_file_name(tlp)}", feed_bytes(tlp)
        yield f"{folder}/index.txt", layout.index_txt(entries).encode("utf-8")
        yield f"{folder}/changes.csv", layout.changes_csv(entries).encode("utf-8")
        for entry in entries:
            year, name = entry.path.split("/")
            document = provider_document(tlp, year, name).data
            base = f"{folder}/{entry.path}"
            yield base, document
            for algorithm in layout.HASH_ALGORITHMS:
                yield f"{base}.{algorithm}", layout.hash_file(document, name, algorithm).encode()
            yield f"{base}.asc", signature_for(document).encode("ascii")
