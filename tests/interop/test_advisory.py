"""The advisory model refuses what no export could represent honestly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from modelcvd.interop.advisory import AdvisoryDocument, AffectedArtifact, SuccessRate
from tests.interop.samples import PUBLISHED, REPLAYED, REPORTED, REV, jailbreak_advisory


def _with(**changes: Any) -> dict[str, Any]:
    fields = jailbreak_advisory().model_dump()
    fields.update(changes)
    return fields


def test_sample_properties() -> None:
    advisory = jailbreak_advisory()
    assert advisory.cve_id == "CVE-2026-12345"
    assert advisory.cwe == ("CWE-1427", "Improper Neutralization of Input Used for LLM Prompting")
    assert advisory.atlas_technique_name == "LLM Jailbreak"
    assert advisory.tlp == "WHITE"
    assert advisory.cvss_severity == "MEDIUM"
    assert advisory.cvss_score is not None
    assert 4.0 <= advisory.cvss_score < 7.0


def test_frozen() -> None:
    advisory = jailbreak_advisory()
    with pytest.raises(ValidationError):
        advisory.title = "changed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "MCVD-26-1"}, "id"),
        ({"aliases": ("CVE-26-1",)}, "not a CVE, GHSA or AVID id"),
        ({"aliases": ("CVE-2026-12345", "CVE-2026-12345")}, "duplicate alias"),
        ({"published": datetime(2026, 1, 1)}, "timezone"),  # noqa: DTZ001 - naive on purpose
        ({"modified": PUBLISHED - timedelta(days=1)}, "modified cannot precede published"),
        ({"atlas_technique": "AML.T9999"}, "unknown MITRE ATLAS technique"),
        ({"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, "not a CVSS 4.0"),
        ({"payload_commitment": "abc"}, "sha256"),
        ({"owasp": "LLM11"}, "owasp"),
    ],
)
def test_rejects(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AdvisoryDocument.model_validate(_with(**changes))


def test_remediation_must_name_listed_artifacts() -> None:
    fields = _with()
    fields["remediations"] = [
        {"category": "vendor_fix", "details": "x", "artifacts": ["nobody/nothing"]}
    ]
    with pytest.raises(ValidationError, match="unknown artifacts"):
        AdvisoryDocument.model_validate(fields)


def test_cvss_vector_is_normalised() -> None:
    advisory = AdvisoryDocument.model_validate(
        _with(cvss_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X")
    )
    assert advisory.cvss_vector == "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert advisory.cvss_score == 9.3
    assert advisory.cvss_severity == "CRITICAL"


def _v(status: str = "affected", revision: str = REV[0], **fields: Any) -> dict[str, Any]:
    return {"status": status, "revision": revision, **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"versions": (_v(revision="abc123"),)}, "full 40-hex git commit"),
        ({"versions": (_v(revision="A" * 40),)}, "full 40-hex git commit"),
        ({"repository_url": ""}, "need the repository_url"),
        ({"versions": (_v(), _v("fixed"))}, "listed twice"),
        ({"versions": (_v(revision=""),)}, "a revision or a label"),
        ({"versions": ()}, "at least 1 item"),
        ({"versions": (_v(status="broken"),)}, "status"),
        ({"repository_url": "http://huggingface.co/o/n"}, "https URL"),
        ({"versions": (_v(weights_digest="1234"),)}, "64 hexadecimal"),
        ({"versions": (_v("fixed", fixed_in=REV[1]), _v("fixed", REV[1]))}, "only an affected"),
        ({"versions": (_v(fixed_in=REV[1]),)}, "not listed as a fixed version"),
        ({"versions": (_v(fixed_in=REV[1]), _v("affected", REV[1]))}, "not listed as a fixed"),
        (
            {"versions": (_v(justification="vulnerable_code_not_present"),)},
            "only a version not affected",
        ),
        ({"purl": "pkg:huggingface/org/model@" + REV[0]}, "without a version"),
        ({"purl": "huggingface/org/model"}, "without a version"),
        (
            {
                "measurements": (
                    SuccessRate(revision=REV[3], successes=1, trials=2, provenance=REPLAYED),
                )
            },
            "unlisted revision",
        ),
    ],
)
def test_artifact_rejects(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "provider": "org",
        "name": "model",
        "repository_url": "https://huggingface.co/org/model",
        "versions": (_v(),),
    }
    with pytest.raises(ValidationError, match=message):
        AffectedArtifact.model_validate(base | fields)


def test_one_model_at_several_versions_is_one_artifact() -> None:
    """The defect of issue 16: the demo's model at v1.0 (affected) and v1.1 (its fix)."""
    artifact = AffectedArtifact.model_validate(
        {
            "provider": "acme-ai",
            "name": "acme-chat-7b",
            "repository_url": "https://huggingface.co/acme-ai/acme-chat-7b",
            "versions": (
                _v(label="v1.0", fixed_in=REV[1]),
                _v("fixed", REV[1], label="v1.1"),
            ),
        }
    )
    assert [v.status for v in artifact.versions] == ["affected", "fixed"]
    assert artifact.versions[0].display == f"v1.0 ({REV[0][:12]})"
    fields = _with(artifacts=[artifact.model_dump()], remediations=())
    assert len(AdvisoryDocument.model_validate(fields).artifacts) == 1
    twice = _with(artifacts=[artifact.model_dump(), artifact.model_dump()], remediations=())
    with pytest.raises(ValidationError, match="list its versions under one entry"):
        AdvisoryDocument.model_validate(twice)


def test_assigned_cve_must_be_an_alias() -> None:
    advisory = AdvisoryDocument.model_validate(_with(assigned_cve="CVE-2026-12345"))
    assert advisory.assigned_cve == advisory.cve_id == "CVE-2026-12345"
    assert jailbreak_advisory().assigned_cve is None
    with pytest.raises(ValidationError, match="among the aliases"):
        AdvisoryDocument.model_validate(_with(assigned_cve="CVE-2026-99999"))


def test_a_success_rate_has_counts_provenance_and_the_exact_interval() -> None:
    with pytest.raises(ValidationError, match="cannot exceed"):
        SuccessRate(successes=11, trials=10, provenance=REPLAYED)
    with pytest.raises(ValidationError, match="provenance"):
        SuccessRate.model_validate({"successes": 1, "trials": 2})
    with pytest.raises(ValidationError, match="interval_low"):
        SuccessRate.model_validate(
            {"successes": 1, "trials": 2, "interval_low": 0.0, "provenance": REPLAYED}
        )
    rate = SuccessRate(successes=14, trials=20, provenance=REPLAYED)
    # Clopper-Pearson 95 % for 14 of 20, as scipy's beta quantiles give it.
    assert (round(rate.interval_low, 4), round(rate.interval_high, 4)) == (0.4572, 0.8811)
    assert rate.interval_method == "clopper-pearson"
    assert rate.describe().startswith("14 of 20 trials (95% CI 0.457-0.881")
    assert "replayed on this instance: verification run #7" in rate.describe()
    zero = SuccessRate(successes=0, trials=10, provenance=REPORTED)
    assert (zero.rate, zero.interval_low) == (0.0, 0.0)
    assert zero.origin_text().startswith("reported by garak (")
    assert zero.origin_text().endswith("; not replayed here")
    assert "replayed on" not in zero.describe()
    assert zero.export()["provenance"]["origin"] == "reported"


def test_artifact_location_helpers() -> None:
    artifact = jailbreak_advisory().artifacts[0]
    assert artifact.collection_url == "https://huggingface.co"
    assert artifact.package_name == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert artifact.is_affected


def test_advisory_has_no_payload_fields() -> None:
    """The advisory cannot carry a payload: no field for prompts, turns or responses."""
    names = set(AdvisoryDocument.model_fields) | set(AffectedArtifact.model_fields)
    assert not names & {"prompt", "turns", "reproduction", "response", "system_prompt"}
    with pytest.raises(ValidationError, match="Extra inputs"):
        AdvisoryDocument.model_validate(_with(reproduction={"turns": []}))
