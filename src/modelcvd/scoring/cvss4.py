"""CVSS 4.0 vectors: parse, score, and express as the `cvssV4_0` object of a CVE 5.1 record.

Scoring is delegated to the `cvss` package (RedHat's implementation of the FIRST calculator);
this module normalises the vector, turns the library's exceptions into one `InvalidVector` error
that says what is wrong, and builds the CVE JSON itself: the library's `as_json()` for v4 uses
its own field names and does not validate against the CVE schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvss import CVSS4
from cvss.constants4 import METRICS_ABBREVIATIONS, METRICS_MANDATORY, METRICS_VALUE_NAMES
from cvss.exceptions import CVSSError

from modelcvd.scoring.tier import Tier, tier_from_cvss_severity

CVSS_VERSION = "4.0"


class InvalidVector(ValueError):
    """A CVSS 4.0 vector that cannot be parsed; the message names the reason."""


@dataclass(frozen=True)
class Cvss4Score:
    """A scored CVSS 4.0 vector.

    `vector` is normalised: metrics in the specification's order, "X" (not defined) values
    dropped. `base_score` is the CVSS 4.0 score of the whole vector (CVSS-B when only base
    metrics are given; `nomenclature` says which metric groups took part). `severity` is the
    qualitative rating: None, Low, Medium, High or Critical.
    """

    vector: str
    base_score: float
    severity: str
    nomenclature: str

    @property
    def tier(self) -> Tier | None:
        """The platform tier for this rating; None for a score of 0.0."""
        return tier_from_cvss_severity(self.severity)

    @property
    def metrics(self) -> dict[str, str]:
        """The metrics given in the vector, abbreviation to value (e.g. {"AV": "N", ...})."""
        return dict(part.split(":", 1) for part in self.vector.split("/")[1:])


_THREAT = frozenset({"E"})
_ENVIRONMENTAL = frozenset(
    {"CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA"}
)


def cvss4_score(vector: str) -> Cvss4Score:
    """Parse and score a CVSS 4.0 vector string ("CVSS:4.0/AV:N/AC:L/...").

    Raises InvalidVector when the vector is malformed, misses a mandatory base metric, repeats a
    metric or uses a value the specification does not define.
    """
    if not isinstance(vector, str):
        raise InvalidVector(f"a CVSS 4.0 vector is a string, not {type(vector).__name__}")
    text = vector.strip()
    try:
        parsed = CVSS4(text)
    except CVSSError as exc:
        # The library's messages are specific ("Missing mandatory metrics ...", "Duplicate
        # metric ..."); keep them, but under one exception type the callers can rely on.
        raise InvalidVector(f"invalid CVSS 4.0 vector {text!r}: {exc}") from exc
    normalised = parsed.clean_vector()
    given = {part.split(":", 1)[0] for part in normalised.split("/")[1:]}
    nomenclature = "CVSS-B"
    if given & _THREAT:
        nomenclature += "T"
    if given & _ENVIRONMENTAL:
        nomenclature += "E"
    return Cvss4Score(
        vector=normalised,
        base_score=round(float(parsed.base_score), 1),
        severity=str(parsed.severity),
        nomenclature=nomenclature,
    )


# CVE 5.1 `cvssV4_0` property names and enum spellings, keyed by the vector's abbreviations.
# Spelled exactly as in CVE_JSON_bundled_5.1.1.json (note the capitalised "Safety",
# "Automatable" and "Recovery", which the schema inherits from FIRST's CVSS v4.0 JSON schema).
_CIA = {"H": "HIGH", "L": "LOW", "N": "NONE"}
_MODIFIED_CIA = {**_CIA, "X": "NOT_DEFINED"}
_REQUIREMENT = {"H": "HIGH", "M": "MEDIUM", "L": "LOW", "X": "NOT_DEFINED"}
_AV = {"N": "NETWORK", "A": "ADJACENT", "L": "LOCAL", "P": "PHYSICAL"}
_AC = {"L": "LOW", "H": "HIGH"}
_AT = {"N": "NONE", "P": "PRESENT"}
_PR = {"N": "NONE", "L": "LOW", "H": "HIGH"}
_UI = {"N": "NONE", "P": "PASSIVE", "A": "ACTIVE"}

_JSON_FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "AV": ("attackVector", _AV),
    "AC": ("attackComplexity", _AC),
    "AT": ("attackRequirements", _AT),
    "PR": ("privilegesRequired", _PR),
    "UI": ("userInteraction", _UI),
    "VC": ("vulnConfidentialityImpact", _CIA),
    "VI": ("vulnIntegrityImpact", _CIA),
    "VA": ("vulnAvailabilityImpact", _CIA),
    "SC": ("subConfidentialityImpact", _CIA),
    "SI": ("subIntegrityImpact", _CIA),
    "SA": ("subAvailabilityImpact", _CIA),
    "E": (
        "exploitMaturity",
        {"A": "ATTACKED", "P": "PROOF_OF_CONCEPT", "U": "UNREPORTED", "X": "NOT_DEFINED"},
    ),
    "CR": ("confidentialityRequirement", _REQUIREMENT),
    "IR": ("integrityRequirement", _REQUIREMENT),
    "AR": ("availabilityRequirement", _REQUIREMENT),
    "MAV": ("modifiedAttackVector", {**_AV, "X": "NOT_DEFINED"}),
    "MAC": ("modifiedAttackComplexity", {**_AC, "X": "NOT_DEFINED"}),
    "MAT": ("modifiedAttackRequirements", {**_AT, "X": "NOT_DEFINED"}),
    "MPR": ("modifiedPrivilegesRequired", {**_PR, "X": "NOT_DEFINED"}),
    "MUI": ("modifiedUserInteraction", {**_UI, "X": "NOT_DEFINED"}),
    "MVC": ("modifiedVulnConfidentialityImpact", _MODIFIED_CIA),
    "MVI": ("modifiedVulnIntegrityImpact", _MODIFIED_CIA),
    "MVA": ("modifiedVulnAvailabilityImpact", _MODIFIED_CIA),
    "MSC": ("modifiedSubConfidentialityImpact", _MODIFIED_CIA),
    "MSI": ("modifiedSubIntegrityImpact", {**_MODIFIED_CIA, "S": "SAFETY"}),
    "MSA": ("modifiedSubAvailabilityImpact", {**_MODIFIED_CIA, "S": "SAFETY"}),
    "S": ("Safety", {"N": "NEGLIGIBLE", "P": "PRESENT", "X": "NOT_DEFINED"}),
    "AU": ("Automatable", {"N": "NO", "Y": "YES", "X": "NOT_DEFINED"}),
    "R": ("Recovery", {"A": "AUTOMATIC", "U": "USER", "I": "IRRECOVERABLE", "X": "NOT_DEFINED"}),
    "V": ("valueDensity", {"D": "DIFFUSE", "C": "CONCENTRATED", "X": "NOT_DEFINED"}),
    "RE": (
        "vulnerabilityResponseEffort",
        {"L": "LOW", "M": "MODERATE", "H": "HIGH", "X": "NOT_DEFINED"},
    ),
    "U": (
        "providerUrgency",
        {"Clear": "CLEAR", "Green": "GREEN", "Amber": "AMBER", "Red": "RED", "X": "NOT_DEFINED"},
    ),
}


def cvss4_json(score: Cvss4Score | str) -> dict[str, Any]:
    """The `cvssV4_0` object of a CVE 5.1 `metrics` entry for a vector (or an already scored one).

    Carries version, vectorString, baseScore and baseSeverity (the schema's required fields) plus
    one property per metric present in the normalised vector. No threat or environmental score
    fields: the CVE 5.1 schema does not allow them (additionalProperties is false).
    """
    scored = cvss4_score(score) if isinstance(score, str) else score
    document: dict[str, Any] = {
        "version": CVSS_VERSION,
        "vectorString": scored.vector,
        "baseScore": scored.base_score,
        "baseSeverity": scored.severity.upper(),
    }
    for abbreviation, value in scored.metrics.items():
        name, values = _JSON_FIELDS[abbreviation]
        document[name] = values[value]
    return document


def _base_metrics() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    return tuple(
        (
            key,
            METRICS_ABBREVIATIONS[key],
            tuple((v, name) for v, name in METRICS_VALUE_NAMES[key].items() if v != "X"),
        )
        for key in METRICS_MANDATORY
    )


# The CVSS 4.0 base metrics as the calculator offers them: (key, name, ((value, name), ...)),
# names from the `cvss` package's tables of the FIRST specification.
CVSS4_BASE_METRICS = _base_metrics()


def cvss4_vector_from(metrics: dict[str, str]) -> str:
    """The vector of a complete choice of base metrics ({"AV": "N", ...}), checked by scoring."""
    missing = [key for key, _, _ in CVSS4_BASE_METRICS if not metrics.get(key)]
    if missing:
        raise InvalidVector(f"choose every base metric; missing {', '.join(missing)}")
    vector = "CVSS:4.0/" + "/".join(f"{key}:{metrics[key]}" for key, _, _ in CVSS4_BASE_METRICS)
    return cvss4_score(vector).vector


def cvss4_base_metrics_of(vector: str) -> dict[str, str]:
    """The base metric values of a vector ({} for an empty or unreadable one)."""
    if not vector:
        return {}
    try:
        normalised = cvss4_score(vector).vector
    except InvalidVector:
        return {}
    parts = dict(p.split(":", 1) for p in normalised.split("/")[1:])
    return {key: parts[key] for key, _, _ in CVSS4_BASE_METRICS if key in parts}
