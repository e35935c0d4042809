"""Advisory input and output shapes. `AdvisoryContent` is what a coordinator writes; every
other field of an advisory is derived from the case (artifacts, measurements, credits)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from modelcvd.interop.advisory import AVID_ID, CVE_ID, GHSA_ID, ReferenceKind
from modelcvd.interop.advisory import Reference as _Reference
from modelcvd.scoring.cvss4 import InvalidVector, cvss4_score
from modelcvd.taxonomy import AtlasTechniqueId, HarmCategory, OwaspId
from modelcvd.vocabulary import AdvisoryState, DisclosureLevel, ReproductionLevel

Text = Annotated[str, Field(max_length=5_000)]
ALIAS_FORMS = "CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or AVID-YYYY-RNNNN / AVID-YYYY-VNNN"


def alias_kind(alias: str) -> str:
    """'cve', 'ghsa' or 'avid'; ValueError naming the accepted forms otherwise."""
    for kind, pattern in (("cve", CVE_ID), ("ghsa", GHSA_ID), ("avid", AVID_ID)):
        if pattern.match(alias):
            return kind
    raise ValueError(f"{alias[:60]!r} is not an alias of the form {ALIAS_FORMS}")


class ReferenceIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, Field(max_length=2_000)]
    kind: ReferenceKind = "web"
    label: Annotated[str, Field(max_length=500)] = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The exporters' own rule, so nothing accepted here can fail an export later.
        try:
            _Reference(url=value)
        except ValidationError:
            raise ValueError("must be an absolute http(s) URL") from None
        return value


class AdvisoryContent(Schema):
    """What the coordinators write. Levels: see policy/disclosure.py."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[str, Field(min_length=3, max_length=200)]
    summary: Annotated[str, Field(min_length=1, max_length=5_000)]
    owasp: OwaspId
    atlas: AtlasTechniqueId
    harm_category: HarmCategory
    cvss_vector: str | None = None
    cve_id: str = Field(
        default="",
        description="The CVE id this instance's CNA assigned to the advisory (only then is a "
        "CVE record exported); a CVE assigned by another CNA is an alias",
    )
    aliases: Annotated[list[str], Field(max_length=20)] = []
    references: Annotated[list[ReferenceIn], Field(max_length=50)] = []
    mitigations: Text = ""
    mitigation_details: Annotated[str, Field(max_length=20_000)] = ""
    detection_indicators: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=1_000)]], Field(max_length=50)
    ] = []
    reproduction_level: ReproductionLevel = DisclosureLevel.VENDOR

    @field_validator("cvss_vector")
    @classmethod
    def _cvss(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return cvss4_score(value).vector
        except InvalidVector as error:
            raise ValueError(str(error)) from None

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str], info: ValidationInfo) -> list[str]:
        cleaned = [alias.strip() for alias in value]
        for alias in cleaned:
            alias_kind(alias)
        if len(cleaned) != len(set(cleaned)):
            raise ValueError("an alias is listed twice")
        # cve_id is declared before aliases, so it has been validated by now.
        own = info.data.get("cve_id")
        if own and own in cleaned:
            raise ValueError(
                f"{own} is this advisory's own CVE id (cve_id); aliases are ids assigned elsewhere"
            )
        return cleaned

    @field_validator("cve_id")
    @classmethod
    def _cve_id(cls, value: str) -> str:
        if value and not CVE_ID.match(value):
            raise ValueError("a CVE id, CVE-YYYY-NNNN")
        return value


class AdvisoryEdit(Schema):
    """A partial edit: the fields given replace the current ones. After publication the
    changelog is required (it becomes the new revision's)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = None
    summary: str | None = None
    owasp: str | None = None
    atlas: str | None = None
    harm_category: str | None = None
    cvss_vector: str | None = None
    cve_id: str | None = None
    aliases: list[str] | None = None
    references: list[dict[str, Any]] | None = None
    mitigations: str | None = None
    mitigation_details: str | None = None
    detection_indicators: list[str] | None = None
    reproduction_level: str | None = None
    changelog: Annotated[str, Field(max_length=5_000)] = ""


class AdvisoryTransitionIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: AdvisoryState
    reason: Annotated[str, Field(max_length=5_000)] = ""
    override_reason: Annotated[
        str,
        Field(
            max_length=2_000,
            description="administrators only: publish before a live embargo's public date, "
            "saying why (audited, on the case timeline); without it such a move answers 409",
        ),
    ] = ""


class AdvisoryApproveIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, Field(max_length=5_000)] = ""


class RevisionOut(Schema):
    number: int
    changelog: str
    created_at: Any


class AdvisoryPage(Schema):
    count: int = Field(description="Matches, counted up to 10,000 (see count_exact)")
    count_exact: bool = Field(description="False when there are more matches than count")
    page: int
    page_size: int
    results: list[dict[str, Any]]


SEVERITIES = ("none", "low", "medium", "high", "critical")
EXPORT_FORMATS = ("cve5", "osv", "csaf", "avid")
ALIAS_PATTERN = re.compile(f"{CVE_ID.pattern}|{GHSA_ID.pattern}|{AVID_ID.pattern}")
