"""Shared material for the interop tests: paths, offline schema validators, sample advisories.

Plain module (not conftest fixtures) so hypothesis strategies can be imported at module level.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from modelcvd.interop.advisory import (
    AdvisoryDocument,
    AffectedArtifact,
    ArtifactVersion,
    Credit,
    ModelRef,
    Reference,
    Remediation,
    RemediationCategory,
    Replayed,
    Reported,
    SuccessRate,
)
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025
from modelcvd.vocabulary import CreditType

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SCHEMAS = SHARED / "schemas"
CORPORA = SHARED / "corpora"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def errors(validator: Validator, document: Any) -> list[str]:
    """Schema errors as short readable lines (path: message), empty when valid."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in validator.iter_errors(document)
    ]


@cache
def cve_record_validator() -> Validator:
    return Draft7Validator(
        _load(SCHEMAS / "cve" / "CVE_JSON_bundled_5.1.1.json"), format_checker=FormatChecker()
    )


@cache
def cna_container_validator() -> Validator:
    path = (
        SCHEMAS
        / "cve"
        / "containers_derived_by_cvelib"
        / "CVE_JSON_cnaPublishedContainer_5.1.1.json"
    )
    return Draft7Validator(_load(path), format_checker=FormatChecker())


@cache
def osv_validator() -> Validator:
    return Draft202012Validator(
        _load(SCHEMAS / "osv" / "osv-schema.json"), format_checker=FormatChecker()
    )


@cache
def csaf_validator() -> Validator:
    # The CSAF schema $refs FIRST's CVSS schemas by URL; serve the local copies under those
    # URLs so nothing is fetched.
    referenced = SCHEMAS / "csaf" / "referenced_schema" / "first"
    if not referenced.is_dir():
        referenced = SCHEMAS / "csaf" / "referenced_schema"
    registry: Registry = Registry()
    for path in sorted(referenced.glob("cvss-v*.json")):
        resource = Resource.from_contents(_load(path), default_specification=DRAFT7)
        registry = registry.with_resource(f"https://www.first.org/cvss/{path.name}", resource)
    return Draft202012Validator(
        _load(SCHEMAS / "csaf" / "csaf_json_schema.json"),
        registry=registry,
        format_checker=FormatChecker(),
    )


@cache
def avid_report_validator() -> Validator:
    return Draft202012Validator(
        _load(SCHEMAS / "avid" / "avid_report.schema.json"), format_checker=FormatChecker()
    )


HF = "https://huggingface.co"
REV = ["a" * 40, "b" * 40, "c" * 40, "d" * 40, "0123456789abcdef0123456789abcdef01234567"]
PUBLISHED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# The two provenances a measurement can have: a run on this instance, or a source's counts.
REPLAYED = Replayed(
    run_id=7,
    target=ModelRef(name="HuggingFaceTB/SmolLM2-135M-Instruct", revision=REV[1]),
    judge=ModelRef(name="refusal"),
)
REPORTED = Reported(
    source="garak",
    source_id="f0d4a5a6-b698-4e9e-9336-91b89194b72b/dan.Dan_11_0/dan.DAN",
    importer="garak",
    basis="garak eval entry: 48 passed of 50 evaluated",
)


def version(
    status: str,
    revision: str = "",
    label: str = "",
    *,
    fixed_in: str = "",
    justification: str | None = None,
    reason: str = "",
    weights_digest: str = "",
) -> ArtifactVersion:
    return ArtifactVersion.model_validate(
        {
            "status": status,
            "revision": revision,
            "label": label,
            "fixed_in": fixed_in,
            "justification": justification,
            "reason": reason,
            "weights_digest": weights_digest,
        }
    )


def jailbreak_advisory() -> AdvisoryDocument:
    """A prompt-injection (LLM01) advisory on two open-weight models, one fixed, with CVSS."""
    return AdvisoryDocument(
        id="MCVD-2026-0001",
        aliases=("CVE-2026-12345", "AVID-2026-R0059"),
        title="Role-play jailbreak bypasses refusal training in SmolLM2 instruct models",
        summary="A multi-turn role-play framing makes the models comply with requests they "
        "refuse when asked directly.",
        details="Observed on the instruct checkpoints; base models are not in scope.",
        published=PUBLISHED,
        modified=PUBLISHED + timedelta(days=3),
        artifacts=(
            AffectedArtifact(
                provider="HuggingFaceTB",
                name="SmolLM2-135M-Instruct",
                repository_url=f"{HF}/HuggingFaceTB/SmolLM2-135M-Instruct",
                purl="pkg:huggingface/HuggingFaceTB/SmolLM2-135M-Instruct",
                versions=(
                    version("affected", REV[0], "v1", fixed_in=REV[2]),
                    version("affected", REV[1], "v1", fixed_in=REV[2]),
                    version("fixed", REV[2], "v2"),
                ),
                measurements=(
                    SuccessRate(revision=REV[1], successes=41, trials=50, provenance=REPLAYED),
                    SuccessRate(revision=REV[2], successes=2, trials=50, provenance=REPORTED),
                ),
            ),
            AffectedArtifact(
                provider="example-org",
                name="SmolLM2-135M-Instruct-abliterated",
                repository_url=f"{HF}/example-org/SmolLM2-135M-Instruct-abliterated",
                versions=(version("affected", REV[3], weights_digest="sha256:" + "e" * 64),),
            ),
        ),
        owasp="LLM01",
        atlas_technique="AML.T0054",
        harm_category="nonviolent_crimes",
        cvss_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:P",
        credits=(Credit(name="A. Researcher"), Credit(name="modelcvd", role="coordinator")),
        references=(
            Reference(url="https://example.org/blog/role-play", kind="article", label="Write-up"),
            Reference(url=f"{HF}/HuggingFaceTB/SmolLM2-135M-Instruct/commit/{REV[2]}", kind="fix"),
        ),
        remediations=(
            Remediation(
                category="vendor_fix",
                details=f"Use revision {REV[2]} or later of SmolLM2-135M-Instruct.",
                artifacts=("HuggingFaceTB/SmolLM2-135M-Instruct",),
            ),
            Remediation(category="mitigation", details="Deploy an input classifier."),
        ),
        payload_commitment="f" * 64,
    )


def api_model_advisory() -> AdvisoryDocument:
    """A hosted model without git history, no CVE alias, no CVSS, defender level."""
    return AdvisoryDocument(
        id="MCVD-2026-0042",
        title="System prompt leakage through translation requests",
        summary="Asking for a translation of 'the text above' returns the system prompt.",
        published=PUBLISHED,
        modified=PUBLISHED,
        artifacts=(
            AffectedArtifact(
                provider="ExampleAI",
                name="example-chat",
                versions=(
                    version("affected", label="2026-01-15"),
                    version("under_investigation", label="2026-02-01"),
                ),
            ),
        ),
        owasp="LLM07",
        atlas_technique="AML.T0056",
        harm_category="privacy",
        disclosure_level="defender",
    )


def not_affected_advisory() -> AdvisoryDocument:
    """One artifact affected, a derivative verified not affected."""
    return AdvisoryDocument(
        id="MCVD-2026-10000",
        aliases=("GHSA-cfgh-2345-wxjm",),
        title="Unbounded generation on crafted repetition prompts",
        summary="A repetition prompt makes the model generate until the token limit.",
        published=PUBLISHED,
        modified=PUBLISHED + timedelta(hours=1),
        artifacts=(
            AffectedArtifact(
                provider="org",
                name="base-model",
                repository_url=f"{HF}/org/base-model",
                versions=(version("affected", REV[4]),),
            ),
            AffectedArtifact(
                provider="org",
                name="base-model-chat",
                repository_url=f"{HF}/org/base-model-chat",
                versions=(
                    version(
                        "not_affected",
                        REV[0],
                        justification="vulnerable_code_not_present",
                        reason="verification run #7 did not reproduce the attack",
                    ),
                ),
                measurements=(
                    SuccessRate(revision=REV[0], successes=0, trials=30, provenance=REPLAYED),
                ),
            ),
        ),
        owasp="LLM10",
        atlas_technique="AML.T0029",
        harm_category="other",
        cvss_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N",
        disclosure_level="vendor",
    )


SAMPLE_ADVISORIES = {
    "jailbreak": jailbreak_advisory,
    "api_model": api_model_advisory,
    "not_affected": not_affected_advisory,
}

# -- hypothesis: advisories drawn from the whole space the model allows ------------------

_hex40 = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
_name = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,30}", fullmatch=True)
_text = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
    .map(str.strip)
    .filter(bool)
)
# hypothesis takes naive bounds and attaches the timezone itself; the results are aware.
_moment = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_vectors = st.sampled_from(
    [
        None,
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
        "CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N/E:A/MSI:S/S:P/U:Red",
        "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:L/SA:N/CR:H/AU:Y/R:I/V:C",
    ]
)


_REMEDIATION_CATEGORIES: list[RemediationCategory] = ["vendor_fix", "mitigation", "none_available"]


_STATUSES = ["affected", "fixed", "not_affected", "under_investigation"]


@st.composite
def _artifacts(draw: st.DrawFn, index: int) -> AffectedArtifact:
    """A model with one to four versions of any status; the first model always has an
    affected version (an advisory says what is affected)."""
    git = draw(st.booleans())
    count = draw(st.integers(min_value=1, max_value=4))
    statuses = [draw(st.sampled_from(_STATUSES)) for _ in range(count)]
    if index == 0:
        statuses[0] = "affected"
    if git:
        keys = draw(st.lists(_hex40, min_size=count, max_size=count, unique=True))
    else:
        keys = [f"v{n}" for n in range(count)]
    fixed = [k for k, status in zip(keys, statuses, strict=True) if status == "fixed"]
    versions = []
    for key, status in zip(keys, statuses, strict=True):
        versions.append(
            version(
                status,
                key if git else "",
                draw(st.sampled_from(["", "v1", "2026-01-01"])) if git else key,
                fixed_in=fixed[0] if fixed and status == "affected" and draw(st.booleans()) else "",
                justification=draw(st.sampled_from([None, "vulnerable_code_not_present"]))
                if status == "not_affected"
                else None,
            )
        )
    measurements = []
    for revision in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)) if git else []:
        trials = draw(st.integers(min_value=1, max_value=500))
        successes = draw(st.integers(min_value=0, max_value=trials))
        measurements.append(
            SuccessRate(
                revision=revision,
                successes=successes,
                trials=trials,
                provenance=draw(st.sampled_from([REPLAYED, REPORTED])),
            )
        )
    org = draw(_name)
    return AffectedArtifact(
        provider=org,
        name=f"model-{index}",
        repository_url=f"{HF}/{org}/model-{index}" if git else "",
        versions=tuple(versions),
        measurements=tuple(measurements),
    )


@st.composite
def advisories(draw: st.DrawFn) -> AdvisoryDocument:
    published = draw(_moment)
    count = draw(st.integers(min_value=1, max_value=3))
    artifacts = tuple(draw(_artifacts(index)) for index in range(count))
    return AdvisoryDocument(
        id=f"MCVD-{published.year}-{draw(st.integers(min_value=1, max_value=99999)):04d}",
        aliases=tuple(draw(st.sets(st.sampled_from(["CVE-2026-0001", "AVID-2026-R0001"])))),
        title=draw(_text.filter(lambda t: len(t) >= 3).map(lambda t: t[:200])),
        summary=draw(_text.map(lambda t: t[:5000])),
        published=published,
        modified=published + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(90))),
        artifacts=artifacts,
        owasp=draw(st.sampled_from(sorted(OWASP_LLM_2025))),
        atlas_technique=draw(st.sampled_from(["AML.T0054", "AML.T0051", "AML.T0051.000"])),
        harm_category=draw(st.sampled_from(sorted(HARM_CATEGORIES))),
        cvss_vector=draw(_vectors),
        credits=tuple(
            Credit(name=n, role=draw(st.sampled_from(list(CreditType))))
            for n in draw(st.lists(_name, max_size=3, unique=True))
        ),
        remediations=tuple(
            Remediation(category=category, details="Details.")
            for category in draw(
                st.lists(
                    st.sampled_from(_REMEDIATION_CATEGORIES),
                    max_size=2,
                    unique=True,
                )
            )
        ),
        disclosure_level=draw(st.sampled_from(["public", "defender", "vendor"])),
    )
