"""AVID export validates against the schema generated from AVID's datamodel."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings

from modelcvd.interop import avid
from modelcvd.interop.advisory import AdvisoryDocument
from tests.interop.samples import (
    SAMPLE_ADVISORIES,
    advisories,
    avid_report_validator,
    errors,
    jailbreak_advisory,
)


@pytest.mark.parametrize("make", SAMPLE_ADVISORIES.values(), ids=SAMPLE_ADVISORIES.keys())
def test_samples_validate(make: Callable[[], AdvisoryDocument]) -> None:
    report = avid.avid_report(make(), advisory_url="https://modelcvd.example/a")
    assert errors(avid_report_validator(), report) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advisory=advisories())
def test_generated_advisories_validate(advisory: AdvisoryDocument) -> None:
    assert errors(avid_report_validator(), avid.avid_report(advisory)) == []


def test_measurements_and_taxonomies() -> None:
    report = avid.avid_report(jailbreak_advisory())
    assert report["problemtype"] == {
        "classof": "Third-party Report",
        "type": "Measurement",
        "description": {"lang": "eng", "value": jailbreak_advisory().title},
    }
    results = [m["results"] for m in report["metrics"]]
    assert [(r["successes"], r["trials"]) for r in results] == [(41, 50), (2, 50)]
    # Each metric names where its counts come from; only a run here says "replayed".
    methods = [m["detection_method"]["name"] for m in report["metrics"]]
    assert methods[0].startswith("replayed on this instance: verification run #7")
    assert methods[1].startswith("reported by garak (")
    assert "replayed on" not in methods[1]
    assert "modelcvd replay" not in json.dumps(report)
    assert [r["provenance"]["origin"] for r in results] == ["replayed", "reported"]
    assert results[0]["interval"] == [0.6856, 0.9142]  # exact (Clopper-Pearson) for 41/50
    assert report["impact"]["avid"]["sep_view"] == ["S0400: Model Bypass"]
    assert report["impact"]["atlas"] == [{"technique": "AML.T0054", "description": "LLM Jailbreak"}]
    assert report["impact"]["cwe"][0]["cweId"] == "CWE-1427"
    assert report["reported_date"] == "2026-03-02"


def test_every_owasp_risk_maps_to_a_valid_sep_view() -> None:
    validator = avid_report_validator()
    for owasp in avid.SEP_BY_OWASP:
        advisory = jailbreak_advisory().model_copy(update={"owasp": owasp})
        assert errors(validator, avid.avid_report(advisory)) == [], owasp


def test_validator_is_not_vacuous() -> None:
    report = avid.avid_report(jailbreak_advisory())
    report["impact"]["avid"]["sep_view"] = ["E0100: Bias/Discrimination"]  # real-world drift
    assert errors(avid_report_validator(), report) != []
