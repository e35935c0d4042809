"""OSV export validates against the OSV schema and round-trips its GIT ranges."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from modelcvd.interop import osv
from modelcvd.interop.advisory import AdvisoryDocument
from modelcvd.vocabulary import VersionStatus
from tests.interop.samples import (
    CORPORA,
    REV,
    SAMPLE_ADVISORIES,
    advisories,
    errors,
    jailbreak_advisory,
    osv_validator,
)


@pytest.mark.parametrize("make", SAMPLE_ADVISORIES.values(), ids=SAMPLE_ADVISORIES.keys())
def test_samples_validate(make: Callable[[], AdvisoryDocument]) -> None:
    document = osv.osv_document(make(), advisory_url="https://modelcvd.example/a")
    assert errors(osv_validator(), document) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advisory=advisories())
def test_generated_advisories_validate_and_round_trip(advisory: AdvisoryDocument) -> None:
    document = osv.osv_document(advisory)
    assert errors(osv_validator(), document) == []
    expected: dict[str, list[tuple[str, str | None]]] = {}
    for a in advisory.artifacts:
        for v in a.with_status(VersionStatus.AFFECTED):
            if v.revision:
                expected.setdefault(a.repository_url, []).append((v.revision, v.fixed_in or None))
    assert osv.affected_revision_ranges(document) == expected
    # Never an empty `affected`, and every affected version is listed explicitly.
    assert document["affected"]
    listed = {v for entry in document["affected"] for v in entry["versions"]}
    assert listed == {
        v.version for a in advisory.artifacts for v in a.with_status(VersionStatus.AFFECTED)
    }


def test_ranges_and_ids() -> None:
    advisory = jailbreak_advisory()
    document = osv.osv_document(advisory)
    assert document["id"] == "x_MCVD-2026-0001"
    assert document["aliases"] == ["CVE-2026-12345", "AVID-2026-R0059"]
    assert document["severity"] == [{"type": "CVSS_V4", "score": advisory.cvss_vector}]
    ranges = osv.affected_revision_ranges(document)
    assert ranges == {
        "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct": [
            (REV[0], REV[2]),
            (REV[1], REV[2]),
        ],
        "https://huggingface.co/example-org/SmolLM2-135M-Instruct-abliterated": [(REV[3], None)],
    }
    first = document["affected"][0]
    assert first["package"] == {
        "ecosystem": "GIT",
        "name": first["ranges"][0]["repo"],
        "purl": "pkg:huggingface/HuggingFaceTB/SmolLM2-135M-Instruct",
    }
    assert first["versions"] == [REV[0], REV[1]]
    statuses = {
        (s["model"], s["version"]): s["status"]
        for s in document["database_specific"]["version_statuses"]
    }
    assert statuses[("HuggingFaceTB/SmolLM2-135M-Instruct", REV[2])] == "fixed"


def test_abbreviated_hash_is_refused_by_the_schema() -> None:
    """OSV's GIT ranges demand full hashes; the advisory model guarantees them."""
    document = osv.osv_document(jailbreak_advisory())
    document["affected"][0]["ranges"][0]["events"][0]["introduced"] = REV[0][:12]
    assert errors(osv_validator(), document) != []


def test_artifacts_without_git_are_listed_with_explicit_versions() -> None:
    """Issue 16, defect 8: a model without a git repository was `"affected": []`."""
    document = osv.osv_document(SAMPLE_ADVISORIES["api_model"]())
    assert errors(osv_validator(), document) == []
    [entry] = document["affected"]
    # OSV has no ecosystem for a hosted model: no package, the versions listed explicitly.
    assert "package" not in entry and "ranges" not in entry
    assert entry["versions"] == ["2026-01-15"]  # the one under investigation is not affected
    assert entry["database_specific"]["model"] == "example-chat"


def test_a_hugging_face_model_without_a_pinned_revision_is_named_by_its_purl() -> None:
    advisory = SAMPLE_ADVISORIES["api_model"]()
    [artifact] = advisory.artifacts
    on_hub = artifact.model_copy(
        update={
            "repository_url": "https://huggingface.co/ExampleAI/example-chat",
            "purl": "pkg:huggingface/ExampleAI/example-chat",
        }
    )
    document = osv.osv_document(advisory.model_copy(update={"artifacts": (on_hub,)}))
    assert errors(osv_validator(), document) == []
    [entry] = document["affected"]
    assert entry["package"] == {
        "ecosystem": "GIT",
        "name": "https://huggingface.co/ExampleAI/example-chat",
        "purl": "pkg:huggingface/ExampleAI/example-chat",
    }
    assert "ranges" not in entry and entry["versions"] == ["2026-01-15"]


def test_an_advisory_with_no_affected_version_is_refused_not_emptied() -> None:
    advisory = SAMPLE_ADVISORIES["not_affected"]()
    only_safe = advisory.model_copy(update={"artifacts": advisory.artifacts[1:]})
    with pytest.raises(ValueError, match="no affected version"):
        osv.osv_document(only_safe)


def test_only_not_affected_artifacts_are_left_out_of_affected() -> None:
    document = osv.osv_document(SAMPLE_ADVISORIES["not_affected"]())
    assert [a["package"]["name"] for a in document["affected"]] == [
        "https://huggingface.co/org/base-model"
    ]


def _load_osv(path: object) -> dict[str, object]:
    text = path.read_text("utf-8")  # type: ignore[attr-defined]
    if path.suffix == ".yaml":  # type: ignore[attr-defined]
        # BaseLoader keeps YAML timestamps as strings, as the OSV schema expects.
        return yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader is safe
    return json.loads(text)


def test_range_reader_is_lenient_with_real_records() -> None:
    paths = sorted((CORPORA / "osv").glob("*.json")) + sorted((CORPORA / "osv").glob("*.yaml"))
    assert paths
    for path in paths:
        document = _load_osv(path)
        ranges = osv.affected_revision_ranges(document)
        git_ranges = [
            r
            for affected in document.get("affected") or []  # type: ignore[attr-defined]
            for r in affected.get("ranges") or []
            if r.get("type") == "GIT"
        ]
        assert len(ranges) == len({r["repo"] for r in git_ranges}), path.name
