"""CVE import over every corpus record: reference records for aliasing, skips explained."""

from __future__ import annotations

import pytest

from modelcvd.interop.cve_import import import_cve_file, import_cve_record
from tests.interop.samples import CORPORA

CVE = CORPORA / "cve"


def test_every_corpus_record_imports() -> None:
    paths = sorted(CVE.glob("*.json"))
    assert len(paths) == 21
    records, skipped = {}, []
    for path in paths:
        result = import_cve_file(path)
        records.update({record.cve_id: record for record in result.records})
        skipped += result.skipped
    assert len(records) == 19
    # The schema's own examples (CVE-1337-1234) are not vulnerabilities.
    assert [reason for _, reason in skipped] == ["example record (CVE year before 1999)"] * 2
    assert all(record.title and record.description for record in records.values())
    injection = sorted(cve for cve, record in records.items() if record.is_prompt_injection)
    assert injection == [
        "CVE-2023-29374",
        "CVE-2023-32786",
        "CVE-2024-3098",
        "CVE-2024-48919",
        "CVE-2024-5565",
    ]


def test_cvss_and_cwe_from_cna_and_adp() -> None:
    [record] = import_cve_file(CVE / "CVE-2023-48022.json").records
    assert record.cwe_ids == ("CWE-918",)
    assert [(s.version, s.score, s.source) for s in record.cvss] == [("3.1", 9.8, "CISA-ADP")]
    [cursor] = import_cve_file(CVE / "CVE-2024-48919.json").records
    assert [(s.version, s.severity) for s in cursor.cvss] == [("4.0", "CRITICAL")]
    assert cursor.products[0].product == "cursor"
    assert cursor.products[0].affected_versions


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({}, "not a CVE JSON 5 record (dataType is not CVE_RECORD)"),
        ({"dataType": "CVE_RECORD", "dataVersion": "4.0"}, "unsupported dataVersion '4.0'"),
        ({"dataType": "CVE_RECORD", "dataVersion": "5.1"}, "no valid cveMetadata.cveId"),
        (
            {
                "dataType": "CVE_RECORD",
                "dataVersion": "5.1",
                "cveMetadata": {"cveId": "CVE-2024-0001", "state": "REJECTED"},
            },
            "state 'REJECTED': nothing to alias",
        ),
        (
            {
                "dataType": "CVE_RECORD",
                "dataVersion": "5.1",
                "cveMetadata": {"cveId": "CVE-2024-0001", "state": "PUBLISHED"},
                "containers": {"cna": {"descriptions": []}},
            },
            "CNA container has no description",
        ),
    ],
)
def test_unusable_records_are_skipped(record: dict[str, object], reason: str) -> None:
    result = import_cve_record(record, source="r.json")
    assert result.records == []
    assert result.skipped[0][1] == reason


def test_the_record_is_kept_as_given() -> None:
    """What the CVE import used to drop: credits, dateUpdated, affected versions with their
    ranges, collectionURL, defaultStatus, CVSS severity, reference tags, CAPEC, ADP metrics."""
    [snyk] = import_cve_file(CVE / "CVE-2024-21513.json").records
    record = snyk.source
    assert [(c.name, c.role, c.source_type) for c in record.credits] == [
        ("Rory McNamara (Snyk Security Research)", "finder", "finder")
    ]
    assert (record.date_published, record.date_updated) == (
        "2024-07-15T05:00:04.083Z",
        "2024-07-15T19:10:56.283Z",
    )
    assert (record.assigner, record.state) == ("snyk", "PUBLISHED")
    [version] = record.products[0].versions
    assert (version.version, version.less_than, version.version_type, version.status) == (
        "0.0.15",
        "0.0.21",
        "semver",
        "affected",
    )
    [cvss] = [c for c in record.cvss if c.source == "cna"]
    assert (cvss.vector, cvss.base_score, cvss.base_severity) == (
        "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H/E:P",
        8.5,
        "HIGH",
    )
    assert cvss.rescored() == (8.5, "HIGH")
    [vanna] = import_cve_file(CVE / "CVE-2024-5565.json").records
    product = vanna.source.products[0]
    assert (product.collection_url, product.package_name, product.default_status) == (
        "https://pypi.org/project/pip",
        "vanna",
        "affected",
    )
    [mlflow] = import_cve_file(CVE / "CVE-2024-37052.json").records
    assert mlflow.source.products[0].default_status == "unaffected"
    assert mlflow.source.products[0].versions[0].less_than_or_equal == "*"
    assert mlflow.source.taxonomy["impacts"][0]["capecId"] == "CAPEC-586"
    assert mlflow.source.taxonomy["other_metrics"][0]["type"] == "ssvc"
    [redhat] = import_cve_file(CVE / "CVE-2024-8768.json").records
    assert redhat.source.products[0].cpes == ("cpe:/a:redhat:enterprise_linux_ai:1",)
    assert any(ref.tags for ref in redhat.source.references)
    [llama] = import_cve_file(CVE / "CVE-2024-34359.json").records
    assert llama.source.aliases == ("CVE-2024-34359", "GHSA-56xg-wfcc-g829")


def test_with_a_program_each_record_is_a_draft_report() -> None:
    result = import_cve_file(CVE / "CVE-2024-21513.json", program="demo")
    [report], [record] = result.reports, result.sources
    assert record.source_id == "CVE-2024-21513"
    # The CNA named no vendor ("n/a"): the product is kept as given, not attributed.
    assert [(a.provider, a.name) for a in report.artifacts] == [
        ("unparsed", "langchain-experimental")
    ]
    assert (report.reproduction.successes, report.reproduction.trials) == (0, 0)
    assert report.harm_category == "other"
    [unnamed] = import_cve_file(CVE / "CVE-2023-29374.json", program="demo").reports
    assert [(a.provider, a.name) for a in unnamed.artifacts] == [
        ("unparsed", "CVE-2023-29374 (product not named)")
    ]
    assert (unnamed.technique.owasp, unnamed.technique.atlas) == ("LLM01", "AML.T0051")
    [huntr] = import_cve_file(CVE / "CVE-2024-1561.json", program="demo").reports
    assert [(a.provider, a.name) for a in huntr.artifacts] == [("gradio-app", "gradio")]
