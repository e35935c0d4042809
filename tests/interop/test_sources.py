"""The imported records behind an advisory (`AdvisoryDocument.sources`) in every export: ids,
dates and CVSS vectors of every version as given, scored by the `cvss` library only, each
export still valid against its official schema."""

from __future__ import annotations

import json

from modelcvd.interop import avid, csaf, cve5, osv
from modelcvd.interop.advisory import AdvisoryDocument, SourceRef, SourceScore
from tests.interop.samples import (
    avid_report_validator,
    cna_container_validator,
    csaf_validator,
    errors,
    jailbreak_advisory,
    osv_validator,
)

V31 = "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H/E:P"
V31_ADP = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V2 = "AV:N/AC:L/Au:N/C:P/I:P/A:P"
V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
BROKEN = "CVSS:3.1/AV:Q"


def with_sources() -> AdvisoryDocument:
    source = SourceRef(
        id="CVE-2024-21513",
        assigner="snyk",
        published="2024-07-15T05:00:04.083Z",
        updated="2024-07-15T19:10:56.283Z",
        scores=(
            SourceScore(version="3.1", vector=V31, source="cna"),
            SourceScore(version="3.1", vector=V31_ADP, source="CISA-ADP"),
            SourceScore(version="2.0", vector=V2, source="nvd"),
            SourceScore(version="4.0", vector=V4, source="cna"),
            SourceScore(version="3.1", vector=BROKEN, source="cna"),
        ),
    )
    return jailbreak_advisory().model_copy(update={"sources": (source,)})


def test_scores_are_the_cvss_librarys() -> None:
    [source] = with_sources().sources
    assert [s.scored for s in source.scores] == [
        (8.5, "HIGH"),
        (9.8, "CRITICAL"),
        (7.5, "HIGH"),
        (9.3, "CRITICAL"),
        None,
    ]
    assert source.dates_text() == (
        "published 2024-07-15T05:00:04.083Z, updated 2024-07-15T19:10:56.283Z"
    )


def test_osv_lists_every_parseable_vector_once_and_the_record() -> None:
    document = osv.osv_document(with_sources())
    assert errors(osv_validator(), document) == []
    severity = [(s["type"], s["score"]) for s in document["severity"]]
    # The advisory's own v4 vector first, then each source vector not already listed.
    assert severity[0][0] == "CVSS_V4"
    assert ("CVSS_V3", V31) in severity and ("CVSS_V3", V31_ADP) in severity
    assert ("CVSS_V2", V2) in severity and ("CVSS_V4", V4) in severity
    assert BROKEN not in [score for _, score in severity]
    [kept] = document["database_specific"]["sources"]
    assert kept["id"] == "CVE-2024-21513"
    assert kept["dates"] == {
        "published": "2024-07-15T05:00:04.083Z",
        "updated": "2024-07-15T19:10:56.283Z",
    }
    assert [c["vector"] for c in kept["cvss"]] == [V31, V31_ADP, V2, V4, BROKEN]


def test_csaf_scores_one_vector_per_version_and_notes_all() -> None:
    document = csaf.csaf_vex(
        with_sources(), publisher_name="modelcvd", publisher_namespace="https://x.example"
    )
    assert errors(csaf_validator(), document) == []
    vulnerability = document["vulnerabilities"][0]
    [score] = vulnerability["scores"]
    assert score["cvss_v3"] == {
        "version": "3.1",
        "vectorString": V31,
        "baseScore": 8.5,
        "baseSeverity": "HIGH",
    }
    assert score["cvss_v2"] == {"version": "2.0", "vectorString": V2, "baseScore": 7.5}
    assert set(score["products"]) == set(vulnerability["product_status"]["known_affected"])
    [note] = [n for n in vulnerability["notes"] if n["title"] == "Source record CVE-2024-21513"]
    for given in (V31, V31_ADP, V2, V4, "2024-07-15T19:10:56.283Z", "snyk"):
        assert given in note["text"]


def test_avid_and_cve5_carry_the_record() -> None:
    report = avid.avid_report(with_sources())
    assert errors(avid_report_validator(), report) == []
    assert report["impact"]["cvss"] == {
        "version": "3.1",
        "vectorString": V31,
        "baseScore": 8.5,
        "baseSeverity": "HIGH",
    }
    assert "Source record CVE-2024-21513: published 2024-07-15" in report["description"]["value"]
    container = cve5.cna_container(
        with_sources(), org_id="00000000-0000-4000-8000-000000000000", short_name="modelcvd"
    )
    assert errors(cna_container_validator(), container) == []
    assert container["x_modelcvd"]["sources"][0]["id"] == "CVE-2024-21513"
    assert V2 in json.dumps(container["x_modelcvd"])
