"""The open report format: what a researcher sends, by form, API, CLI or importer.

Pure pydantic, no Django. The published JSON Schema (schemas/report.schema.json) is generated
from `ReportDocument` (`modelcvd schema report`), and a test keeps the two identical, so the
file and the server can never disagree.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# OwaspId and HarmCategory are re-exported: they were defined here before the taxonomy held them.
from modelcvd.taxonomy import AtlasTechniqueId
from modelcvd.taxonomy import HarmCategory as HarmCategory
from modelcvd.taxonomy import OwaspId as OwaspId

FORMAT_VERSION = "1.0"
SCHEMA_ID = "https://modelcvd.org/schemas/report/1.0/report.schema.json"

Text = Annotated[str, Field(max_length=20_000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
SHA256 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ArtifactRef(_Strict):
    """An exact model the finding was observed on."""

    provider: ShortText = Field(description="Who publishes the model, e.g. a Hugging Face org.")
    name: ShortText = Field(description="Model name, e.g. 'SmolLM2-135M-Instruct'.")
    revision: Annotated[str, Field(max_length=200)] = Field(
        default="", description="Exact revision: a commit hash, API model version or date."
    )
    version_label: Annotated[str, Field(max_length=100)] = Field(
        default="", description="Human label, e.g. 'v1.2'."
    )
    weights_digest: str = Field(
        default="",
        # In the published schema only: the validator below gives the friendlier message.
        json_schema_extra={"pattern": r"^\s*((sha256:)?[0-9a-fA-F]{64})?\s*$"},
        description="sha256 of the weights, hex (64 chars), optional 'sha256:' prefix.",
    )

    @field_validator("weights_digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        value = value.strip().lower()
        if value and not SHA256.match(value):
            raise ValueError("must be 64 hexadecimal characters, optionally prefixed 'sha256:'")
        return value.removeprefix("sha256:")


class Technique(_Strict):
    owasp: OwaspId = Field(description="OWASP Top 10 for LLM Applications 2025 id.")
    atlas: AtlasTechniqueId = Field(
        description="MITRE ATLAS technique id, e.g. AML.T0054; must exist in ATLAS."
    )


class _Verbatim(BaseModel):
    # Payload text is replayed byte for byte: leading or trailing whitespace can matter to a
    # model, so it is never stripped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Turn(_Verbatim):
    role: Literal["user", "assistant"]
    content: Annotated[str, Field(min_length=1, max_length=100_000)]


class Sampling(_Strict):
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, ge=1, le=32_768)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class Reproduction(_Verbatim):
    """The payload. Sealed at rest; never shown beyond the entitled parties."""

    system_prompt: Annotated[str, Field(max_length=100_000)] = ""
    turns: list[Turn] = Field(min_length=1, max_length=200)
    sampling: Sampling = Field(default_factory=Sampling)
    successes: int = Field(ge=0, le=1_000_000, description="Trials in which the attack worked.")
    # 0 says "not counted" (an imported record that gives no counts): such a report adds no
    # measurement anywhere, where a guessed "1 of 1" would be published as a rate.
    trials: int = Field(
        ge=0, le=1_000_000, description="Trials the researcher ran; 0 when they were not counted."
    )

    @model_validator(mode="after")
    def _successes_within_trials(self) -> Reproduction:
        if self.successes > self.trials:
            raise ValueError("successes cannot exceed trials")
        return self


class ReportDocument(_Strict):
    """A vulnerability report about an AI model, in modelcvd's open report format."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "$id": SCHEMA_ID,
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
    )

    format_version: Literal["1.0"] = "1.0"
    title: Annotated[str, Field(min_length=3, max_length=200)]
    abstract: Annotated[str, Field(min_length=1, max_length=5_000)] = Field(
        description="A summary safe to share before the payload is seen: no working prompts."
    )
    program: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    artifacts: list[ArtifactRef] = Field(min_length=1, max_length=20)
    technique: Technique
    harm_category: HarmCategory
    reproduction: Reproduction
    expected_behaviour: Text = ""
    observed_behaviour: Text = ""
    impact: Text = ""


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of the report format, as published in schemas/report.schema.json."""
    schema = ReportDocument.model_json_schema()
    schema["title"] = "modelcvd report"
    return schema
