"""What a source said, kept as it said it: the faithful copy of one imported record.

Every importer returns a `SourceRecord` beside each draft report: the source's ids, credits
(with the source's own credit type), dates, CWE ids, CVSS vectors of any version, affected
products with their versions, ranges and default status, references, taxonomy views,
developers, deployers, per-model scores and the counts, if the source gave any. Values are
kept as given (trimmed, never re-spelled); where modelcvd must interpret one (a provider
parsed out of a product name, a credit type mapped to the vocabulary) the source's own string
stays beside the interpretation.

The Django layer stores the record, keys re-imports by (source, source_id) so that importing
a record again updates what it created, and derives the advisory's aliases, credits and
references from it. Pure: no Django.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, Literal

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError
from pydantic import BaseModel, ConfigDict, Field

from modelcvd.vocabulary import CreditType

SourceName = Literal["cve", "avid", "garak", "jailbreakbench"]

# A product or model name the importer could not split into provider and name with
# certainty: the artifact keeps the source's whole string as its name, under this provider,
# and `SourceProduct.parsed` is False. Chosen over "unknown", which would claim a fact.
UNPARSED_PROVIDER = "unparsed"
# The artifact type the garak importer gives a run's target (its generator).
GARAK_GENERATOR = "garak generator"
HUGGING_FACE = "https://huggingface.co"

Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=1_000)]


class _Faithful(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SourceCredit(_Faithful):
    """Someone the source credits. `role` is the vocabulary's type; `source_type` is the
    source's own word (CVE's "remediation reviewer"...), empty when the source has none."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: CreditType = CreditType.FINDER
    source_type: Short = ""


class SourceCvss(_Faithful):
    """A CVSS vector as the source gave it (any version), with the score it stated. Scores
    are recomputed only by the `cvss` library (`rescored`), never by hand."""

    version: Literal["2.0", "3.0", "3.1", "4.0"]
    vector: Annotated[str, Field(min_length=1, max_length=500)]
    source: Short = Field(default="", description="'cna', an ADP's short name, or 'AVID'")
    base_score: float | None = None
    base_severity: Short = ""

    def rescored(self) -> tuple[float, str] | None:
        """(base score, severity) by the `cvss` library; None when it cannot parse the vector."""
        return cvss_rescore(self.version, self.vector)


class SourceCwe(_Faithful):
    id: Annotated[str, Field(pattern=r"^CWE-[1-9]\d*$")]
    description: Short = ""
    source: Short = ""


class SourceVersion(_Faithful):
    """One entry of a CVE `versions` list, field for field."""

    version: Short
    status: Short
    version_type: Short = ""
    less_than: Short = ""
    less_than_or_equal: Short = ""
    changes: tuple[dict[str, Any], ...] = ()


class SourceProduct(_Faithful):
    """An affected product or AI artifact. `source_name` is how the source names it; provider
    and name are modelcvd's reading of it, `parsed` False when that reading is not certain
    (then provider is UNPARSED_PROVIDER and name is the source's string)."""

    source_name: Annotated[str, Field(min_length=1, max_length=1_000)]
    provider: Short = ""
    name: Short = ""
    parsed: bool = False
    artifact_type: Short = ""
    vendor: Short = ""
    product: Short = ""
    collection_url: Short = ""
    package_name: Short = ""
    repo: Short = ""
    cpes: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    default_status: Short = ""
    versions: tuple[SourceVersion, ...] = ()

    def on_hugging_face(self) -> bool:
        """Whether the source itself places the product in a Hugging Face repository: a CVE
        `collectionURL` or `repo` there, or a garak target run through a `huggingface`
        generator. Nothing else does: a name of the form ORG/NAME is no proof (the corpus has
        "OpenAI/ChatGPT", "abetlen/llama-cpp-python", "pytorch/pytorch"), and neither is an
        AVID artifact or a JailbreakBench target name."""
        if self.collection_url.rstrip("/") == HUGGING_FACE:
            return True
        if self.repo.startswith(f"{HUGGING_FACE}/"):
            return True
        generator = self.source_name.split(" ", 1)[0]
        return self.artifact_type == GARAK_GENERATOR and generator.split(".")[0] == "huggingface"


class SourceReference(_Faithful):
    url: Annotated[str, Field(min_length=1, max_length=2_000)]
    label: Short = ""
    type: Short = ""
    tags: tuple[str, ...] = ()


class SourceCounts(_Faithful):
    """Attack successes out of trials exactly as the source counted them, and what they count
    (`basis`, in the source's terms). `artifact` is the source name of the product they were
    counted on; empty when the record names one product only."""

    successes: int = Field(ge=0)
    trials: int = Field(ge=1)
    basis: Short
    artifact: Short = ""
    revision: Short = ""


class SourceRecord(_Faithful):
    """One record of another database or tool, as imported."""

    source: SourceName
    source_id: Annotated[str, Field(min_length=1, max_length=300)]
    importer: Short = Field(description="The modelcvd importer that read it, e.g. 'avid'.")
    title: Short = ""
    description: Text = ""
    aliases: tuple[str, ...] = Field(
        default=(), description="Ids of the same vulnerability elsewhere (CVE, GHSA, AVID)."
    )
    assigner: Short = ""
    assigner_org_id: Short = ""
    state: Short = ""
    date_reserved: Short = ""
    date_reported: Short = ""
    date_published: Short = ""
    date_updated: Short = ""
    credits: tuple[SourceCredit, ...] = ()
    cwes: tuple[SourceCwe, ...] = ()
    cvss: tuple[SourceCvss, ...] = ()
    products: tuple[SourceProduct, ...] = ()
    references: tuple[SourceReference, ...] = ()
    taxonomy: dict[str, Any] = Field(
        default_factory=dict,
        description="The source's own classification, as given: AVID problem class and "
        "type, SEP and lifecycle views, ATLAS, ODIN, CAPEC.",
    )
    developers: tuple[str, ...] = ()
    deployers: tuple[str, ...] = ()
    scores: tuple[dict[str, Any], ...] = Field(
        default=(), description="Per-model scores and metric rows, as given."
    )
    counts: tuple[SourceCounts, ...] = Field(
        default=(), description="Successes/trials the source gave; empty: no measurement."
    )

    def digest(self) -> str:
        """sha256 of the record's canonical JSON: tells an unchanged re-import from a new one."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


CVSS_CLASS = {"2.0": CVSS2, "3.0": CVSS3, "3.1": CVSS3, "4.0": CVSS4}


@cache
def cvss_rescore(version: str, vector: str) -> tuple[float, str] | None:
    """(base score, severity) of a vector of any CVSS version, computed by the `cvss` library;
    None when the library refuses it (the vector is still kept as given)."""
    cls = CVSS_CLASS.get(version)
    if cls is None:
        return None
    try:
        parsed = cls(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    if isinstance(parsed, CVSS2):
        score = float(parsed.scores()[0])
        # CVSS v2 defines no severity names; NVD's bands are the common reading.
        severity = "LOW" if score < 4.0 else "MEDIUM" if score < 7.0 else "HIGH"
        return score, severity
    if isinstance(parsed, CVSS4):
        return float(parsed.base_score), str(parsed.severity).upper()
    return float(parsed.scores()[0]), str(parsed.severities()[0]).upper()
