"""CSAF 2.0 VEX export validates against the OASIS schema (FIRST CVSS schemas local)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from modelcvd.interop import csaf
from modelcvd.interop.advisory import AdvisoryDocument
from tests.interop.samples import (
    CORPORA,
    REV,
    SAMPLE_ADVISORIES,
    advisories,
    csaf_validator,
    errors,
    jailbreak_advisory,
)


def _vex(advisory: AdvisoryDocument) -> dict[str, Any]:
    return csaf.csaf_vex(
        advisory,
        publisher_name="modelcvd",
        publisher_namespace="https://modelcvd.example",
        advisory_url=f"https://modelcvd.example/advisories/{advisory.id}",
    )


def _products(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """product_id -> product, walking every branch."""
    found: dict[str, dict[str, Any]] = {}
    stack = list(tree.get("branches", []))
    while stack:
        branch = stack.pop()
        if "product" in branch:
            found[branch["product"]["product_id"]] = branch["product"]
        stack += branch.get("branches", [])
    return found


def _assert_vex_profile(document: dict[str, Any]) -> None:
    """The CSAF VEX profile's rules beyond the schema (CSAF 2.0, section 4.5)."""
    assert document["document"]["category"] == "csaf_vex"
    products = _products(document["product_tree"])
    for vulnerability in document["vulnerabilities"]:
        assert vulnerability.get("cve") or vulnerability.get("ids")
        status = vulnerability["product_status"]
        assert set(status) & {"fixed", "known_affected", "known_not_affected"}
        assert {pid for ids in status.values() for pid in ids} <= set(products)
        remediated = {
            pid for r in vulnerability.get("remediations", []) for pid in r["product_ids"]
        }
        assert set(status.get("known_affected", [])) <= remediated
        impact = {
            pid
            for t in vulnerability.get("threats", [])
            if t["category"] == "impact"
            for pid in t["product_ids"]
        }
        assert set(status.get("known_not_affected", [])) <= impact


@pytest.mark.parametrize("make", SAMPLE_ADVISORIES.values(), ids=SAMPLE_ADVISORIES.keys())
def test_samples_validate(make: Callable[[], AdvisoryDocument]) -> None:
    document = _vex(make())
    assert errors(csaf_validator(), document) == []
    _assert_vex_profile(document)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advisory=advisories())
def test_generated_advisories_validate(advisory: AdvisoryDocument) -> None:
    document = _vex(advisory)
    assert errors(csaf_validator(), document) == []
    _assert_vex_profile(document)


def test_statuses_per_version() -> None:
    document = _vex(jailbreak_advisory())
    products = _products(document["product_tree"])
    status = document["vulnerabilities"][0]["product_status"]
    by_status = {
        key: sorted(products[pid]["name"].rsplit(" @ ", 1)[1] for pid in ids)
        for key, ids in status.items()
    }
    assert by_status == {"known_affected": [REV[0], REV[1], REV[3]], "fixed": [REV[2]]}
    purls = [p["product_identification_helper"]["purl"] for p in products.values()]
    assert f"pkg:huggingface/HuggingFaceTB/SmolLM2-135M-Instruct@{REV[2]}" in purls
    vulnerability = document["vulnerabilities"][0]
    assert vulnerability["cve"] == "CVE-2026-12345"
    assert vulnerability["cwe"]["id"] == "CWE-1427"
    categories = [r["category"] for r in vulnerability["remediations"]]
    # The fixing version (both affected revisions are fixed in REV[2]), then the advisory's own.
    assert categories == ["vendor_fix", "vendor_fix", "mitigation"]
    fix = vulnerability["remediations"][0]
    assert [products[pid]["name"].rsplit(" @ ", 1)[1] for pid in fix["product_ids"]] == REV[:2]
    assert f"v2 ({REV[2][:12]})" in fix["details"]


def test_not_affected_gets_an_impact_statement_and_tlp_follows_level() -> None:
    document = _vex(SAMPLE_ADVISORIES["not_affected"]())
    assert document["document"]["distribution"]["tlp"]["label"] == "AMBER"
    vulnerability = document["vulnerabilities"][0]
    assert "0 of 30" in vulnerability["threats"][0]["details"]
    assert "run #7 did not reproduce" in vulnerability["threats"][0]["details"]
    [flag] = vulnerability["flags"]
    assert flag["label"] == "vulnerable_code_not_present"
    assert flag["product_ids"] == vulnerability["product_status"]["known_not_affected"]
    assert vulnerability["remediations"][0]["category"] == "none_available"
    assert _vex(SAMPLE_ADVISORIES["api_model"]())["document"]["distribution"]["tlp"] == {
        "label": "GREEN",
        "url": "https://www.first.org/tlp/",
    }


def test_corpus_documents_validate_with_the_cvss_registry() -> None:
    """Real CSAF documents with CVSS v3 scores pass: the FIRST $refs resolve locally."""
    paths = sorted((CORPORA / "csaf").glob("*.json"))
    assert paths
    with_scores = 0
    for path in paths:
        document = json.loads(path.read_text("utf-8"))
        assert errors(csaf_validator(), document) == [], path.name
        with_scores += any(v.get("scores") for v in document.get("vulnerabilities", []))
    assert with_scores


def test_validator_is_not_vacuous() -> None:
    document = _vex(jailbreak_advisory())
    document["document"]["distribution"]["tlp"]["label"] = "CLEAR"  # TLP 2.0: not in CSAF 2.0
    assert errors(csaf_validator(), document) != []


def test_measurement_notes_give_counts_interval_and_origin() -> None:
    document = csaf.csaf_vex(
        jailbreak_advisory(), publisher_name="modelcvd", publisher_namespace="https://x.example"
    )
    [note] = [n for n in document["vulnerabilities"][0]["notes"] if n["title"].startswith("Attack")]
    first, second = note["text"].splitlines()
    assert "41 of 50 trials (95% CI 0.686-0.914, exact Clopper-Pearson)" in first
    assert "replayed on this instance: verification run #7" in first
    assert "reported by garak" in second and "not replayed here" in second
