"""CVE JSON 5.1 export validates against the official bundled schema (offline)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings

from modelcvd.interop import cve5
from modelcvd.interop.advisory import AdvisoryDocument
from tests.interop.samples import (
    CORPORA,
    SAMPLE_ADVISORIES,
    advisories,
    cna_container_validator,
    cve_record_validator,
    errors,
    jailbreak_advisory,
)

ORG_ID = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"


def _record(advisory: AdvisoryDocument) -> dict[str, object]:
    return cve5.cve_record(
        advisory,
        org_id=ORG_ID,
        short_name="modelcvd",
        cve_id=advisory.cve_id or "CVE-2026-99999",
        advisory_url=f"https://modelcvd.example/advisories/{advisory.id}",
    )


@pytest.mark.parametrize("make", SAMPLE_ADVISORIES.values(), ids=SAMPLE_ADVISORIES.keys())
def test_samples_validate(make: Callable[[], AdvisoryDocument]) -> None:
    record = _record(make())
    assert errors(cve_record_validator(), record) == []
    container = record["containers"]["cna"]  # type: ignore[index]
    assert errors(cna_container_validator(), container) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advisory=advisories())
def test_generated_advisories_validate(advisory: AdvisoryDocument) -> None:
    assert errors(cve_record_validator(), _record(advisory)) == []


def test_model_as_package_with_git_revisions() -> None:
    advisory = jailbreak_advisory()
    cna = _record(advisory)["containers"]["cna"]  # type: ignore[index]
    product = cna["affected"][0]
    assert product["collectionURL"] == "https://huggingface.co"
    assert product["packageName"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    statuses = {v["version"]: v["status"] for v in product["versions"]}
    assert statuses == {"a" * 40: "affected", "b" * 40: "affected", "c" * 40: "unaffected"}
    assert {v["versionType"] for v in product["versions"]} == {"git"}
    assert product["defaultStatus"] == "unknown"


def test_taxonomy_problem_type_and_metrics() -> None:
    cna = _record(jailbreak_advisory())["containers"]["cna"]  # type: ignore[index]
    atlas = next(t for t in cna["taxonomyMappings"] if t["taxonomyName"] == "MITRE ATLAS")
    assert atlas["taxonomyRelations"][0]["taxonomyId"] == "AML.T0054"
    assert "LLM Jailbreak" in atlas["taxonomyRelations"][0]["relationshipName"]
    cwe = cna["problemTypes"][0]["descriptions"][0]
    assert cwe["cweId"] == "CWE-1427"
    metrics = cna["metrics"][0]["cvssV4_0"]
    assert metrics["baseSeverity"] == "MEDIUM"
    assert metrics["exploitMaturity"] == "PROOF_OF_CONCEPT"
    assert cna["x_modelcvd"]["measurements"][0]["successes"] == 41


def test_cvss_metrics_cover_every_metric_in_the_vector() -> None:
    vector = (
        "CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:A/VC:L/VI:H/VA:N/SC:L/SI:H/SA:L/E:U/CR:M/IR:L/AR:H"
        "/MAV:P/MAC:L/MAT:N/MPR:H/MUI:P/MVC:N/MVI:L/MVA:H/MSC:H/MSI:S/MSA:S/S:P/AU:Y/R:U/V:D"
        "/RE:M/U:Amber"
    )
    metrics = cve5.cvss_v4_metrics(vector)
    assert len(metrics) == 4 + vector.count("/")
    assert metrics["modifiedSubIntegrityImpact"] == "SAFETY"
    assert metrics["providerUrgency"] == "AMBER"
    assert metrics["Recovery"] == "USER"
    document = copy.deepcopy(_record(jailbreak_advisory()))
    document["containers"]["cna"]["metrics"][0]["cvssV4_0"] = metrics  # type: ignore[index]
    assert errors(cve_record_validator(), document) == []


def test_validator_is_not_vacuous() -> None:
    """A wrong severity for the score must fail, or the tests above prove nothing."""
    record = copy.deepcopy(_record(jailbreak_advisory()))
    record["containers"]["cna"]["metrics"][0]["cvssV4_0"]["baseSeverity"] = "CRITICAL"  # type: ignore[index]
    assert errors(cve_record_validator(), record) != []


def test_without_cve_id_the_record_cannot_be_built() -> None:
    advisory = SAMPLE_ADVISORIES["api_model"]()
    with pytest.raises(ValueError, match="no CVE id assigned by this CNA"):
        cve5.cve_record(advisory, org_id=ORG_ID, short_name="modelcvd")
    container = cve5.cna_container(
        advisory, org_id=ORG_ID, short_name="modelcvd", advisory_url="https://e.example/a"
    )
    assert errors(cna_container_validator(), container) == []
    versions = container["affected"][0]["versions"]
    assert [(v["version"], v["status"], v["versionType"]) for v in versions] == [
        ("2026-01-15", "affected", "custom"),
        ("2026-02-01", "unknown", "custom"),
    ]


def test_a_cve_alias_of_another_cna_is_never_claimed() -> None:
    """Issue 16, defect 5: an alias names someone else's CVE; only `assigned_cve` makes a
    record, and the record names the other CVE ids as references, not as its own."""
    advisory = jailbreak_advisory()  # aliases CVE-2026-12345, assigned elsewhere
    with pytest.raises(ValueError, match="not ours to publish"):
        cve5.cve_record(advisory, org_id=ORG_ID, short_name="modelcvd")
    ours = advisory.model_copy(
        update={"aliases": ("CVE-2026-55555", *advisory.aliases), "assigned_cve": "CVE-2026-55555"}
    )
    record = cve5.cve_record(ours, org_id=ORG_ID, short_name="modelcvd")
    assert record["cveMetadata"]["cveId"] == "CVE-2026-55555"
    references = record["containers"]["cna"]["references"]
    assert {
        "url": "https://www.cve.org/CVERecord?id=CVE-2026-12345",
        "name": "CVE-2026-12345",
        "tags": ["related"],
    } in references
    assert errors(cve_record_validator(), record) == []
    with pytest.raises(ValueError, match="orgId and shortName"):
        cve5.cve_record(ours, org_id="", short_name="")


@pytest.mark.parametrize(
    "org_id", ["", "not-a-uuid", "00000000-0000-4000-8000-000000000000", ORG_ID.upper()[:-1]]
)
def test_a_cna_needs_its_real_org_id(org_id: str) -> None:
    with pytest.raises(ValueError, match="UUID CVE Services gave"):
        cve5.Cna(org_id=org_id, short_name="modelcvd")
    assert cve5.Cna(org_id=ORG_ID, short_name="modelcvd").short_name == "modelcvd"


def test_corpus_records_validate_with_the_same_validator() -> None:
    """Sanity check on the validator setup: real CVE records pass it."""
    paths = sorted((CORPORA / "cve").glob("*.json"))
    assert paths
    for path in paths:
        assert errors(cve_record_validator(), json.loads(path.read_text("utf-8"))) == [], path.name
