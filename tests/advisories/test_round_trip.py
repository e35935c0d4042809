"""Import then export, over every record of ../shared/corpora that an importer reads (garak,
JailbreakBench, AVID, CVE): the record's ids (as aliases), credits, dates, CVSS vectors and
affected versions are diffed field by field against

1. the advisory as stored (its content and its document's `sources`): nothing may be lost;
2. each export format (CVE 5, OSV, CSAF, AVID), every file valid against its official schema:
   what a format cannot carry yet is a deliberate loss, and the table "Round trip: what each
   export keeps" in docs/interop.md must list exactly those losses (so the table and the
   exporters cannot drift apart).

A CVE record is written only for a CVE id this instance's CNA assigned (issue 16): the test
makes this instance a CNA and gives each imported advisory an id of its own, so the CVE 5 column
says what a CVE record of ours keeps of the source record (whose own CVE id is then an alias,
assigned by another CNA).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from modelcvd.advisories.models import Advisory, ImportedRecord
from modelcvd.advisories.render import (
    FILE_SUFFIX,
    SOURCE_STATUS,
    export_view,
    render_at,
    version_rows,
)
from modelcvd.advisories.services import advisory_update
from modelcvd.interop.advisory import ArtifactVersion
from modelcvd.interop.avid import STATUS_WORDS
from modelcvd.interop.csaf import PRODUCT_STATUS, vers_range
from modelcvd.interop.source import SourceProduct, SourceRecord, SourceVersion
from modelcvd.policy.disclosure import Level
from modelcvd.vocabulary import VersionStatus
from tests.advisories.helpers import CNA_ORG_ID
from tests.advisories.test_import_export import _validate
from tests.advisories.test_imports import corpus, import_all
from tests.factories import World

DOCS = Path(__file__).resolve().parents[2] / "docs" / "interop.md"
FAMILIES = ("ids", "credits", "dates", "vectors", "versions")
FORMATS = tuple(FILE_SUFFIX)  # cve5, osv, csaf, avid
# Version strings too generic to find in a document by their spelling alone.
GENERIC_VERSIONS = {"", "0", "*", "n/a", "unspecified", "latest", "unknown"}


def _aliases(record: SourceRecord) -> set[str]:
    return {a for a in record.aliases if re.match(r"^(CVE|GHSA|AVID)-", a)}


def _dates(record: SourceRecord) -> set[str]:
    given = (record.date_reserved, record.date_reported, record.date_published, record.date_updated)
    return {d for d in given if d}


def _versions(record: SourceRecord) -> set[str]:
    return {
        value
        for product in record.products
        for version in product.versions
        for value in (version.version, version.less_than, version.less_than_or_equal)
        if value not in GENERIC_VERSIONS
    }


def _ids_in(fmt: str, document: dict[str, Any]) -> set[str]:
    if fmt == "osv":
        return set(document["aliases"])
    if fmt == "csaf":
        # One CVE id per vulnerability (`cve`): another CVE id of the same vulnerability is
        # named by a document reference to its CVE record.
        vulnerability = document["vulnerabilities"][0]
        references = document["document"].get("references", [])
        return (
            {vulnerability.get("cve", "")}
            | {i["text"] for i in vulnerability.get("ids", [])}
            | {r["url"] for r in references}
        )
    # CVE 5 has an id only for the record itself, AVID none for another database's: an id
    # there counts as kept when a reference names it.
    if fmt == "cve5":
        cna = document["containers"]["cna"] if "containers" in document else document
        named = {document.get("cveMetadata", {}).get("cveId", "")}
        references = cna.get("references", [])
        return named | {r["url"] for r in references} | {r.get("name", "") for r in references}
    references = document.get("references", [])
    return {r["url"] for r in references} | {r.get("label", "") for r in references}


def _names(alias: str, found: set[str]) -> bool:
    """The id itself, or a reference whose address ends with it (…?id=CVE-…, …/GHSA-…)."""
    return any(f == alias or f.endswith(("=" + alias, "/" + alias)) for f in found)


def _credits_in(fmt: str, document: dict[str, Any]) -> set[str]:
    if fmt == "osv":
        return {c["name"] for c in document.get("credits", [])}
    if fmt == "csaf":
        acknowledgments = document["vulnerabilities"][0].get("acknowledgments", [])
        return {name for a in acknowledgments for name in a["names"]}
    if fmt == "cve5":
        cna = document["containers"]["cna"] if "containers" in document else document
        return {c["value"] for c in cna.get("credits", [])}
    return {c["value"] for c in document.get("credit", [])}


def _lost(fmt: str, record: SourceRecord, document: dict[str, Any]) -> set[str]:
    """The families of which some value of `record` cannot be found in `document`."""
    text = json.dumps(document)
    lost = set()
    found = _ids_in(fmt, document)
    if any(not _names(alias, found) for alias in _aliases(record)):
        lost.add("ids")
    if not {c.name for c in record.credits} <= _credits_in(fmt, document):
        lost.add("credits")
    # Dates have no common field: a given date counts as kept where its day appears.
    if any(date[:10] not in text for date in _dates(record)):
        lost.add("dates")
    if any(cvss.vector not in text for cvss in record.cvss):
        lost.add("vectors")
    if not _versions_kept(fmt, record, document):
        lost.add("versions")
    return lost


def _given(version: SourceVersion) -> dict[str, Any]:
    """A source version in CVE 5's names, the fields it gave only."""
    given = {
        "version": version.version,
        "status": version.status,
        "versionType": version.version_type,
        "lessThan": version.less_than,
        "lessThanOrEqual": version.less_than_or_equal,
        "changes": list(version.changes),
    }
    return {key: value for key, value in given.items() if value}


def _listed(record: SourceRecord) -> list[tuple[SourceProduct, SourceVersion]]:
    return [(p, v) for p in record.products for v in p.versions]


def _versions_kept(fmt: str, record: SourceRecord, document: dict[str, Any]) -> bool:
    """Every version the source listed, field by field, with its status in the format's terms."""
    listed = _listed(record)
    if fmt == "cve5":
        cna = document["containers"]["cna"] if "containers" in document else document
        products = {(a["vendor"], a["product"]): a for a in cna.get("affected", [])}
        for product, version in listed:
            entries = products.get((product.provider, product.name), {})
            given = _given(version)
            if not any(given.items() <= v.items() for v in entries.get("versions", [])):
                return False
        return all(
            products.get((p.provider, p.name), {}).get("defaultStatus") == p.default_status
            for p in record.products
            if p.default_status and p.versions
        )
    if fmt == "osv":
        statuses = document["database_specific"]["version_statuses"]
        exact = {v for a in document.get("affected", []) for v in a.get("versions", [])}
        for product, version in listed:
            given = _given(version) | {"source_status": version.status}
            given.pop("status")
            display = f"{product.provider}/{product.name}"
            if not any(s["model"] == display and given.items() <= s.items() for s in statuses):
                return False
            ranged = version.less_than or version.less_than_or_equal
            affected = SOURCE_STATUS.get(version.status) == VersionStatus.AFFECTED
            if affected and not ranged and version.version not in exact:
                return False
        return True
    if fmt == "csaf":
        names: dict[str, str] = {}
        branches = list(document["product_tree"]["branches"])
        while branches:
            branch = branches.pop()
            branches.extend(branch.get("branches", []))
            if "product" in branch:
                names[branch["product"]["product_id"]] = (branch["category"], branch["name"])
        status = {
            pid: word
            for word, ids in document["vulnerabilities"][0].get("product_status", {}).items()
            for pid in ids
        }
        for _product, version in listed:
            ranged = bool(version.less_than or version.less_than_or_equal)
            as_export = ArtifactVersion(
                status=VersionStatus.AFFECTED,
                label=version.version,
                version_type=version.version_type,
                less_than=version.less_than,
                less_than_or_equal=version.less_than_or_equal,
            )
            wanted = (
                ("product_version_range", vers_range(as_export))
                if ranged
                else ("product_version", version.version)
            )
            expected = PRODUCT_STATUS[
                SOURCE_STATUS.get(version.status, VersionStatus.UNDER_INVESTIGATION)
            ]
            if not any(n == wanted and status.get(pid) == expected for pid, n in names.items()):
                return False
        return True
    lines = document["description"]["value"].splitlines()
    for product, version in listed:
        word = STATUS_WORDS[SOURCE_STATUS.get(version.status, VersionStatus.UNDER_INVESTIGATION)]
        parts = [f"- {product.provider}/{product.name} {version.version}", f": {word}"]
        parts += [end for end in (version.less_than, version.less_than_or_equal) if end]
        if not any(all(part in line for part in parts) for line in lines):
            return False
    return True


def _assert_stored(advisory: Advisory, record: SourceRecord) -> None:
    """The advisory as stored keeps every family, value for value."""
    assert _aliases(record) <= set(advisory.content["aliases"]), record.source_id
    credits = {(c["name"], c["role"]) for c in advisory.document["credits"]}
    assert {(c.name, c.role.value) for c in record.credits} <= credits, record.source_id
    [kept] = [s for s in advisory.document["sources"] if s["source_id"] == record.source_id]
    given = record.model_dump(mode="json")
    for key in ("aliases", "credits", "cwes", "products", "references", "taxonomy"):
        assert kept[key] == given[key], (record.source_id, key)
    for key in ("date_reserved", "date_reported", "date_published", "date_updated", "assigner"):
        assert kept[key] == given[key], (record.source_id, key)
    assert [(c["version"], c["vector"], c["source"]) for c in kept["cvss"]] == [
        (c.version, c.vector, c.source) for c in record.cvss
    ], record.source_id
    for stated, cvss in zip(kept["cvss"], record.cvss, strict=True):
        # Re-scored by the cvss library only; the source's own score kept beside it.
        rescored = cvss.rescored()
        assert stated["base_score"] == cvss.base_score
        assert stated["rescored"] == (
            {"base_score": rescored[0], "base_severity": rescored[1]} if rescored else None
        )


def documented_losses() -> dict[str, set[str]]:
    """{format: families it loses} from docs/interop.md's round-trip table."""
    text = DOCS.read_text("utf-8")
    section = text.split("### Round trip: what each export keeps", 1)[1].split("\n## ", 1)[0]
    losses: dict[str, set[str]] = {fmt: set() for fmt in FORMATS}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] in FAMILIES:
            # | family | stored | cve5 | osv | csaf | avid | why |
            assert cells[1] == "kept", f"{cells[0]} must be kept on the stored advisory"
            for fmt, cell in zip(FORMATS, cells[2:6], strict=True):
                assert cell in {"kept", "lost"}, line
                if cell == "lost":
                    losses[fmt].add(cells[0])
    return losses


@pytest.mark.slow
def test_import_then_export_keeps_ids_credits_dates_vectors_and_versions(
    world: World, tmp_path: Path, settings: Any
) -> None:
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-test"
    import_all(world, corpus(tmp_path))
    rows = list(ImportedRecord.objects.select_related("advisory").order_by("id"))
    assert len(rows) == 1 + 72 + 18 + 19
    losses: dict[str, set[str]] = {fmt: set() for fmt in FORMATS}
    families_seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        assert row.advisory is not None, row.source_id
        advisory_update(
            actor=world.users["triager"],
            advisory_id=row.advisory.advisory_id,
            changes={"cve_id": f"CVE-2026-{90000 + number}"},
        )
        row.advisory.refresh_from_db()
        record = SourceRecord.model_validate(row.data)
        _assert_stored(row.advisory, record)
        families_seen |= {
            family
            for family, values in (
                ("ids", _aliases(record)),
                ("credits", record.credits),
                ("dates", _dates(record)),
                ("vectors", record.cvss),
                ("versions", _versions(record)),
            )
            if values
        }
        view = render_at(row.advisory, Level.DEFENDER)
        # The page, the e-mail and the feed list the source's versions with the same statuses.
        shown = {
            (r["model"], r["version"].split(" to ")[0], r["status"]) for r in version_rows(view)
        }
        for product, version in _listed(record):
            status = SOURCE_STATUS.get(version.status, VersionStatus.UNDER_INVESTIGATION)
            wanted = (f"{product.provider}/{product.name}", version.version, status.value)
            assert wanted in shown, (record.source_id, wanted)
        for fmt in FORMATS:
            document = export_view(view, fmt)
            assert _validate(document, fmt) == [], (row.source_id, fmt)
            losses[fmt] |= _lost(fmt, record, document)
    # The corpus exercises every family, so "kept" below is never vacuous.
    assert families_seen == set(FAMILIES)
    assert losses == documented_losses()
