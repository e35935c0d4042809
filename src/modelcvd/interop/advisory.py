"""The advisory as the interchange formats see it: only what may be published.

`AdvisoryDocument` is the pure, frozen input of every exporter (CVE 5, OSV, CSAF VEX, AVID).
The Django layer fills it from a published advisory at the public level; nothing here can hold
a payload (prompts, responses, system prompts): the advisory carries at most a sha256
commitment to the withheld payload, so a later disclosure can be checked against it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from cvss import CVSS4
from cvss.exceptions import CVSS4Error
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from modelcvd.interop.source import cvss_rescore
from modelcvd.scoring import cvss4
from modelcvd.taxonomy import AtlasTechniqueId, HarmCategory, OwaspId, atlas_technique_name
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.vocabulary import (
    CreditType,
    DisclosureLevel,
    ExportLevel,
    VersionStatus,
    VexJustification,
)

ADVISORY_ID = re.compile(r"^MCVD-\d{4}-\d{4,}$")
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
GHSA_ID = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$")
AVID_ID = re.compile(r"^AVID-\d{4}-[RV]\d{3,}$")
GIT_COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
PURL = re.compile(r"^pkg:[a-z][a-z0-9.+-]*/\S+$")

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
GitRevision = Annotated[str, Field(pattern=GIT_COMMIT.pattern, description="Full 40-hex commit.")]

TlpLabel = Literal["WHITE", "GREEN", "AMBER", "RED"]
# Kept for importers of the old name: a credit's role is the vocabulary's credit type.
CreditRole = CreditType
ReferenceKind = Literal["advisory", "article", "report", "fix", "evidence", "model", "web"]
RemediationCategory = Literal[
    "vendor_fix", "mitigation", "workaround", "no_fix_planned", "none_available"
]
# Only the exact interval is published (Wilson undercovers at small n).
IntervalMethod = Literal["clopper-pearson"]
Severity = Literal["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

# CSAF 2.0 still uses TLP 1.0 labels (WHITE, not CLEAR). The public level is unrestricted;
# defenders may share within their community (GREEN); vendor-level detail stays with the
# organisations involved (AMBER). RED is never derived: it names people, not a level.
TLP_BY_LEVEL: dict[DisclosureLevel, TlpLabel] = {
    DisclosureLevel.PUBLIC: "WHITE",
    DisclosureLevel.DEFENDER: "GREEN",
    DisclosureLevel.VENDOR: "AMBER",
}

# The CWE each OWASP LLM 2025 risk maps to where MITRE has a precise entry; the others are
# classified by their OWASP id alone (a loose CWE would mislead more than it helps).
CWE_BY_OWASP: dict[str, tuple[str, str]] = {
    "LLM01": ("CWE-1427", "Improper Neutralization of Input Used for LLM Prompting"),
    "LLM02": ("CWE-200", "Exposure of Sensitive Information to an Unauthorized Actor"),
    "LLM05": ("CWE-1426", "Improper Validation of Generative AI Output"),
    "LLM10": ("CWE-400", "Uncontrolled Resource Consumption"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ModelRef(_Frozen):
    """A model as a verification run identified it: name, revision, weights sha256."""

    name: Annotated[str, Field(min_length=1, max_length=300)]
    revision: Annotated[str, Field(max_length=200)] = ""
    weights_digest: Annotated[str, Field(max_length=71)] = ""


class Replayed(_Frozen):
    """Counts that a verification run on this instance produced: the only measurements that
    may say "replayed here"."""

    origin: Literal["replayed"] = "replayed"
    run_id: int = Field(ge=1, description="The verification run on this instance.")
    target: ModelRef = Field(description="The model that answered, as the run identified it.")
    judge: ModelRef = Field(description="What decided success, as the run identified it.")


class Reported(_Frozen):
    """Counts exactly as a source gave them; nothing was replayed here."""

    origin: Literal["reported"] = "reported"
    source: ShortText = Field(description="Who gave the counts: 'garak', 'AVID', 'reporter'...")
    source_id: Annotated[str, Field(max_length=300)] = Field(
        default="", description="The source's own id for the record, e.g. AVID-2026-R0125."
    )
    importer: Annotated[str, Field(max_length=100)] = Field(
        default="", description="The modelcvd importer that read them; empty when submitted."
    )
    basis: Annotated[str, Field(max_length=1_000)] = Field(
        default="", description="What the counts count, in the source's terms."
    )


Provenance = Annotated[Replayed | Reported, Field(discriminator="origin")]


class SuccessRate(_Frozen):
    """Attack successes out of trials on one revision, with where the counts come from.

    Never a bare rate: the counts and their provenance are required, and the interval is the
    exact (Clopper-Pearson) one computed from the counts, so no input can contradict them."""

    revision: str = Field(
        default="", description="The revision measured; empty for artifacts without git history."
    )
    successes: int = Field(ge=0)
    trials: int = Field(ge=1)
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    provenance: Provenance

    @model_validator(mode="after")
    def _consistent(self) -> SuccessRate:
        if self.successes > self.trials:
            raise ValueError("successes cannot exceed trials")
        return self

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    @property
    def interval_method(self) -> IntervalMethod:
        return "clopper-pearson"

    @property
    def interval_low(self) -> float:
        return exact_interval(self.successes, self.trials, self.confidence)[0]

    @property
    def interval_high(self) -> float:
        return exact_interval(self.successes, self.trials, self.confidence)[1]

    @property
    def replayed_here(self) -> bool:
        return isinstance(self.provenance, Replayed)

    def origin_text(self) -> str:
        """Where the counts come from, in words: every rendering of the counts carries it."""
        origin = self.provenance
        if isinstance(origin, Replayed):
            target = origin.target.name + (
                f"@{origin.target.revision}" if origin.target.revision else ""
            )
            return (
                f"replayed on this instance: verification run #{origin.run_id}, "
                f"target {target}, judge {origin.judge.name}"
            )
        given = f"reported by {origin.source}"
        if origin.source_id:
            given += f" ({origin.source_id})"
        if origin.basis:
            given += f": {origin.basis}"
        if origin.importer:
            given += f"; imported by the {origin.importer} importer"
        return given + "; not replayed here"

    def describe(self) -> str:
        """'14 of 20 trials (95% CI 0.457-0.881, exact), replayed on this instance: ...'"""
        return (
            f"{self.successes} of {self.trials} trials ({self.confidence:.0%} CI "
            f"{self.interval_low:.3f}-{self.interval_high:.3f}, exact Clopper-Pearson), "
            f"{self.origin_text()}"
        )

    def export(self) -> dict[str, Any]:
        """The measurement as exporters write it: counts, exact interval and provenance."""
        return {
            "revision": self.revision,
            "successes": self.successes,
            "trials": self.trials,
            "interval": [round(self.interval_low, 4), round(self.interval_high, 4)],
            "confidence": self.confidence,
            "interval_method": self.interval_method,
            "provenance": self.provenance.model_dump(mode="json"),
        }


@cache
def exact_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson interval of successes/trials. Cached: a bulk export repeats counts."""
    low, high = clopper_pearson_interval(successes, trials, confidence)
    return float(low), float(high)


class ArtifactVersion(_Frozen):
    """One version of a model and what the advisory says about it. A model is named once per
    advisory with every version it lists: the same model at several versions is the normal
    case (the affected version and the one that fixes it)."""

    status: VersionStatus
    revision: str = Field(
        default="", description="Full 40-hex git commit; only for models in a git repository."
    )
    label: Annotated[str, Field(max_length=1_000)] = ""
    fixed_in: str = Field(
        default="",
        description="For an affected version: the version that fixes it (its revision, or its "
        "label when it has none); a fixed version listed beside it.",
    )
    justification: VexJustification | None = Field(
        default=None, description="For a version not affected: the VEX justification."
    )
    reason: Annotated[str, Field(max_length=500)] = Field(
        default="", description="Where the status comes from, in words (a run, the vendor, ...)."
    )
    weights_digest: str = Field(default="", description="sha256 of this version's weights.")
    # An imported product's version as its source gave it (CVE 5 `versions[]`): the range it
    # opens (`version` up to `less_than`/`less_than_or_equal`), the scheme it is written in and
    # the status changes inside it. Empty for the platform's own versions.
    version_type: Annotated[str, Field(max_length=1_000)] = ""
    less_than: Annotated[str, Field(max_length=1_000)] = ""
    less_than_or_equal: Annotated[str, Field(max_length=1_000)] = ""
    changes: tuple[dict[str, Any], ...] = ()
    source_status: Annotated[str, Field(max_length=1_000)] = Field(
        default="", description="The source's own status word (CVE 'unaffected'...)."
    )

    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        if value and not GIT_COMMIT.match(value):
            raise ValueError("a revision is a full 40-hex git commit")
        return value

    @field_validator("weights_digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        value = value.lower().removeprefix("sha256:")
        if value and not SHA256_HEX.match(value):
            raise ValueError("must be 64 hexadecimal characters, optionally prefixed 'sha256:'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ArtifactVersion:
        if not (self.revision or self.label):
            raise ValueError("a version needs a revision or a label")
        if self.fixed_in and self.status != VersionStatus.AFFECTED:
            raise ValueError("only an affected version has a fixing version (fixed_in)")
        if self.justification and self.status != VersionStatus.NOT_AFFECTED:
            raise ValueError("only a version not affected has a VEX justification")
        return self

    @property
    def version(self) -> str:
        """What names this version in a format's version field: the commit, else the label."""
        return self.revision or self.label

    @property
    def is_range(self) -> bool:
        return bool(self.less_than or self.less_than_or_equal)

    @property
    def key(self) -> tuple[str, str, str]:
        """What tells two listed versions apart: a source may list one start with two ends."""
        return self.version, self.less_than, self.less_than_or_equal

    @property
    def display(self) -> str:
        """For people: 'v1.0 (3f1c2a9d8e7b)', '1.0 to before 1.5', or whichever it has."""
        if self.revision and self.label:
            return f"{self.label} ({self.revision[:12]})"
        if self.less_than:
            return f"{self.label} to before {self.less_than}"
        if self.less_than_or_equal:
            return f"{self.label} to {self.less_than_or_equal}"
        return self.label or self.revision


class AffectedArtifact(_Frozen):
    """One model named in the advisory, with every version it lists and each one's status."""

    provider: ShortText
    name: ShortText
    repository_url: str = Field(
        default="", description="Git repository of the weights, e.g. https://huggingface.co/O/N."
    )
    purl: str = Field(
        default="", description="Package URL of the model, without a version: pkg:huggingface/O/N."
    )
    versions: tuple[ArtifactVersion, ...] = Field(min_length=1, max_length=1_000)
    default_status: Annotated[str, Field(max_length=100)] = Field(
        default="",
        description="An imported product's CVE `defaultStatus` as the source gave it: the "
        "status of versions not listed. Empty: unknown.",
    )
    measurements: tuple[SuccessRate, ...] = ()

    @field_validator("repository_url")
    @classmethod
    def _repository(cls, value: str) -> str:
        return _repository_url(value) if value else value

    @field_validator("purl")
    @classmethod
    def _purl(cls, value: str) -> str:
        # OSV names a package by its purl without the version (the ranges carry versions).
        if value and (not PURL.match(value) or "@" in value):
            raise ValueError("a package URL without a version, e.g. pkg:huggingface/ORG/NAME")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AffectedArtifact:
        revisions = self.revisions
        if revisions and not self.repository_url:
            raise ValueError("git revisions need the repository_url they belong to")
        keys = [v.key for v in self.versions]
        if len(keys) != len(set(keys)):
            raise ValueError(f"a version of {self.display_name} is listed twice")
        fixed = {v.version for v in self.versions if v.status == VersionStatus.FIXED}
        for version in self.versions:
            if version.fixed_in and version.fixed_in not in fixed:
                raise ValueError(
                    f"{version.display} is fixed in {version.fixed_in!r}, which is not listed "
                    "as a fixed version"
                )
        for measurement in self.measurements:
            if revisions and measurement.revision not in revisions:
                raise ValueError(f"measurement on unlisted revision {measurement.revision!r}")
        return self

    @property
    def revisions(self) -> list[str]:
        return [v.revision for v in self.versions if v.revision]

    def with_status(self, status: VersionStatus) -> list[ArtifactVersion]:
        return [v for v in self.versions if v.status == status]

    @property
    def display_name(self) -> str:
        return f"{self.provider}/{self.name}"

    @property
    def is_affected(self) -> bool:
        return any(v.status == VersionStatus.AFFECTED for v in self.versions)

    @property
    def collection_url(self) -> str:
        """Where the repository lives, e.g. https://huggingface.co; empty without a repo."""
        return _repository_parts(self.repository_url)[0]

    @property
    def package_name(self) -> str:
        """The repository path within its collection, e.g. ORG/NAME."""
        return _repository_parts(self.repository_url)[1]


class Credit(_Frozen):
    name: ShortText
    role: CreditType = CreditType.FINDER


class Reference(_Frozen):
    url: str
    kind: ReferenceKind = "web"
    label: Annotated[str, Field(max_length=500)] = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _is_web_url(value):
            raise ValueError("must be an absolute http(s) URL")
        return value


class Remediation(_Frozen):
    """What to do about it; a fix for open weights is a new revision, never a patch."""

    category: RemediationCategory
    details: Annotated[str, Field(min_length=1, max_length=5_000)]
    url: str = ""
    artifacts: tuple[str, ...] = Field(
        default=(), description="'provider/name' of the artifacts it applies to; empty = all."
    )


class SourceScore(_Frozen):
    """A CVSS vector of any version as an imported record gave it; its score and severity are
    the `cvss` library's, never restated by hand."""

    version: Literal["2.0", "3.0", "3.1", "4.0"]
    vector: Annotated[str, Field(min_length=1, max_length=500)]
    source: Annotated[str, Field(max_length=1_000)] = ""

    @property
    def scored(self) -> tuple[float, str] | None:
        """(base score, severity) by the `cvss` library; None when it cannot parse the vector."""
        return cvss_rescore(self.version, self.vector)


class SourceRef(_Frozen):
    """An imported record the advisory stands on: its id, who assigned it, its dates and its
    CVSS vectors, as the source gave them (interop/source.py keeps the whole record)."""

    id: Annotated[str, Field(min_length=1, max_length=300)]
    assigner: Annotated[str, Field(max_length=1_000)] = ""
    reserved: Annotated[str, Field(max_length=1_000)] = ""
    reported: Annotated[str, Field(max_length=1_000)] = ""
    published: Annotated[str, Field(max_length=1_000)] = ""
    updated: Annotated[str, Field(max_length=1_000)] = ""
    scores: tuple[SourceScore, ...] = ()
    cwes: tuple[str, ...] = ()
    # AVID's own classification and parties, as the record gave them.
    avid_class: Annotated[str, Field(max_length=1_000)] = ""
    sep_view: tuple[str, ...] = ()
    lifecycle_view: tuple[str, ...] = ()
    deployers: tuple[str, ...] = ()
    artifact_types: dict[str, str] = Field(
        default_factory=dict, description="'provider/name' -> the source's artifact type."
    )

    def dates_text(self) -> str:
        """'reported 2023-12-22, published ...': the dates the source gave, in its spelling."""
        given = (
            ("reserved", self.reserved),
            ("reported", self.reported),
            ("published", self.published),
            ("updated", self.updated),
        )
        return ", ".join(f"{name} {value}" for name, value in given if value)

    def export(self) -> dict[str, Any]:
        """The record as exporters write it in their extension fields."""
        return {
            "id": self.id,
            "assigner": self.assigner or None,
            "dates": {
                name: value
                for name, value in (
                    ("reserved", self.reserved),
                    ("reported", self.reported),
                    ("published", self.published),
                    ("updated", self.updated),
                )
                if value
            },
            "cvss": [
                {
                    "version": score.version,
                    "vector": score.vector,
                    "source": score.source,
                    "base_score": score.scored[0] if score.scored else None,
                    "base_severity": score.scored[1] if score.scored else None,
                }
                for score in self.scores
            ],
            "cwe_ids": list(self.cwes),
        }


class AdvisoryDocument(_Frozen):
    """A published advisory about AI model vulnerabilities, as exporters consume it."""

    id: str = Field(pattern=ADVISORY_ID.pattern, description="MCVD-YYYY-NNNN")
    aliases: tuple[str, ...] = ()
    assigned_cve: str | None = Field(
        default=None,
        description="The CVE id this instance's CNA assigned to the advisory (also an alias); "
        "only then is a full CVE record written. Other CVE aliases were assigned elsewhere.",
    )
    title: Annotated[str, Field(min_length=3, max_length=200)]
    summary: Annotated[str, Field(min_length=1, max_length=5_000)]
    details: Annotated[str, Field(max_length=20_000)] = ""
    published: AwareDatetime
    modified: AwareDatetime
    artifacts: tuple[AffectedArtifact, ...] = Field(min_length=1, max_length=50)
    owasp: OwaspId
    atlas_technique: AtlasTechniqueId
    harm_category: HarmCategory
    cvss_vector: str | None = None
    credits: tuple[Credit, ...] = ()
    references: tuple[Reference, ...] = ()
    remediations: tuple[Remediation, ...] = ()
    disclosure_level: ExportLevel = DisclosureLevel.PUBLIC
    payload_commitment: str = Field(
        default="", description="sha256 (hex) of the withheld payload, so it can be checked later."
    )
    sources: tuple[SourceRef, ...] = Field(
        default=(), description="The imported records behind the advisory, as they gave them."
    )

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for alias in value:
            if not (CVE_ID.match(alias) or GHSA_ID.match(alias) or AVID_ID.match(alias)):
                raise ValueError(f"{alias!r} is not a CVE, GHSA or AVID id")
        if len(value) != len(set(value)):
            raise ValueError("duplicate alias")
        return value

    @field_validator("cvss_vector")
    @classmethod
    def _cvss(cls, value: str | None) -> str | None:
        if not value:
            return None
        return _clean_cvss4(value)

    @field_validator("payload_commitment")
    @classmethod
    def _commitment(cls, value: str) -> str:
        value = value.lower().removeprefix("sha256:")
        if value and not SHA256_HEX.match(value):
            raise ValueError("must be a sha256 hex digest")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AdvisoryDocument:
        if self.modified < self.published:
            raise ValueError("modified cannot precede published")
        if self.assigned_cve is not None and self.assigned_cve not in self.aliases:
            raise ValueError("the assigned CVE id must also be among the aliases")
        names = [artifact.display_name for artifact in self.artifacts]
        if len(names) != len(set(names)):
            # Versions of one model belong under one entry (AffectedArtifact.versions).
            raise ValueError("a model is named twice: list its versions under one entry")
        for remediation in self.remediations:
            unknown = set(remediation.artifacts) - set(names)
            if unknown:
                raise ValueError(f"remediation names unknown artifacts: {sorted(unknown)}")
        return self

    @property
    def atlas_technique_name(self) -> str:
        return atlas_technique_name(self.atlas_technique) or ""

    @property
    def cve_id(self) -> str | None:
        """The CVE the advisory is about, whoever assigned it (see `assigned_cve`)."""
        return self.assigned_cve or next(
            (alias for alias in self.aliases if CVE_ID.match(alias)), None
        )

    @property
    def cve_aliases(self) -> list[str]:
        return [alias for alias in self.aliases if CVE_ID.match(alias)]

    @property
    def cwe(self) -> tuple[str, str] | None:
        """(CWE id, name) for the OWASP risk, where a precise CWE exists."""
        return CWE_BY_OWASP.get(self.owasp)

    @property
    def tlp(self) -> TlpLabel:
        return TLP_BY_LEVEL[self.disclosure_level]

    @property
    def cvss_score(self) -> float | None:
        return None if self.cvss_vector is None else cvss4_score(self.cvss_vector)[0]

    @property
    def cvss_severity(self) -> Severity | None:
        return None if self.cvss_vector is None else cvss4_score(self.cvss_vector)[1]

    def remediations_for(self, artifact: AffectedArtifact) -> list[Remediation]:
        return [
            remediation
            for remediation in self.remediations
            if not remediation.artifacts or artifact.display_name in remediation.artifacts
        ]


def cve_record_url(cve_id: str) -> str:
    """Where anyone reads a CVE record: the CVE program's own page for it."""
    return f"https://www.cve.org/CVERecord?id={cve_id}"


@lru_cache(maxsize=4096)
def _repository_url(value: str) -> str:
    """Cached: a bulk export names the same few repositories over and over."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or parts.path.strip("/") == "":
        raise ValueError("must be an https URL naming a repository")
    return value.rstrip("/")


# An http(s) scheme and a non-empty authority: what urlsplit would report as scheme and
# netloc, checked without building its result (references are mostly unique, so a cache of
# urlsplit misses, and this runs for every reference of every advisory exported).
WEB_URL = re.compile(r"^https?://[^/?#\s]", re.IGNORECASE)


def _is_web_url(value: str) -> bool:
    return WEB_URL.match(value) is not None


@lru_cache(maxsize=4096)
def _repository_parts(url: str) -> tuple[str, str]:
    """(collection URL, package name) of a repository URL; cached like _repository_url (every
    exporter asks for both, per artifact, per advisory)."""
    if not url:
        return "", ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path.strip("/")


@cache
def _clean_cvss4(value: str) -> str:
    """clean_vector() puts the metrics in the specification's order and drops "X" (not
    defined) values, which is the form the CVE and OSV patterns expect. Cached: parsing is the
    costliest step of an export, and a bulk export repeats the same few vectors."""
    try:
        return str(CVSS4(value).clean_vector())
    except CVSS4Error as error:
        raise ValueError(f"not a CVSS 4.0 vector: {error}") from error


@cache
def cvss4_score(vector: str) -> tuple[float, Severity]:
    """(score, severity) of a CVSS 4.0 vector, as FIRST's calculator gives them."""
    scored = cvss4.cvss4_score(vector)
    severity = scored.severity.upper()
    assert severity in {"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
    return scored.base_score, severity  # type: ignore[return-value]


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form OSV's pattern and CVE's timestamps accept."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
