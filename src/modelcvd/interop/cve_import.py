"""CVE record import: the record kept as given, for aliasing, and (with a program) a draft
report whose advisory aliases the CVE.

Most CVEs about "AI" name ML libraries and serving software (LangChain, MLflow, vLLM), not
models. Each record is kept faithfully (`CveReference.source`, a `SourceRecord`): id,
assigner, reserved/published/updated dates, state, credits with their CVE credit types, CWE
ids, CVSS vectors of any version from the CNA and every ADP (e.g. CISA's Vulnrichment) with
the scores they state, affected products with vendor, product, collectionURL, packageName,
repo, CPEs, platforms, modules, defaultStatus and every `versions` entry (version, status,
versionType, lessThan, lessThanOrEqual, changes), references with their tags, CAPEC impacts
and ADP "other" metrics (SSVC). Reads CVE JSON 5.0 and 5.x records; rejected records and
non-records are skipped.

With a program, each record also becomes a draft report: the products as artifacts (ORG/NAME
products split; a named vendor is the provider; otherwise the product string under
UNPARSED_PROVIDER), the technique from the CWE (prompt injection, CWE-1427) or the supply
chain default, harm "other" (CVE has no harm taxonomy), no counts, and a marker turn in place
of the prompt no CVE record publishes.

CVE records are used under the CVE Terms of Use (see docs/interop.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelcvd.interop.advisory import CVE_ID, GHSA_ID
from modelcvd.interop.results import ImportResult, clip, require_program
from modelcvd.interop.source import UNPARSED_PROVIDER, SourceRecord
from modelcvd.vocabulary import CreditType

IMPORTER = "cve"
CWE_ID = re.compile(r"^CWE-[1-9]\d*$")
PROMPT_INJECTION_CWE = "CWE-1427"
PROMPT_INJECTION_TEXT = re.compile(r"prompt[ -]injection", re.IGNORECASE)
FIRST_CVE_YEAR = 1999
CVSS_KEYS = {"cvssV4_0": "4.0", "cvssV3_1": "3.1", "cvssV3_0": "3.0", "cvssV2_0": "2.0"}
GHSA_IN_URL = re.compile(r"/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})(?:$|[/?#])")
NOT_GIVEN = {"", "n/a", "N/A", "unknown"}

# The one marker turn of a CVE import's reproduction: the report format needs a turn and no
# CVE record publishes a prompt. A marker, never a prompt.
MISSING_PROMPT = "[modelcvd import] The source CVE record publishes no reproduction prompt."

# A prompt-injection CWE is OWASP LLM01 / ATLAS LLM Prompt Injection. Every other CVE here is a
# flaw in a library or service that AI systems are built from: a vulnerable third-party
# component, which OWASP files under LLM03 Supply Chain and ATLAS under AI Supply Chain
# Compromise. Noted on every import that uses it.
PROMPT_INJECTION_TECHNIQUE = ("LLM01", "AML.T0051")
SUPPLY_CHAIN_TECHNIQUE = ("LLM03", "AML.T0010")

# CVE 5 credit types -> the vocabulary. CVE's "remediation reviewer" and "other" have no
# counterpart: the closest type is used and the CVE word is kept as the credit's source type.
CREDIT_ROLE: dict[str, CreditType] = {
    "finder": CreditType.FINDER,
    "reporter": CreditType.REPORTER,
    "analyst": CreditType.ANALYST,
    "coordinator": CreditType.COORDINATOR,
    "remediation developer": CreditType.REMEDIATION_DEVELOPER,
    "remediation reviewer": CreditType.REMEDIATION_VERIFIER,
    "remediation verifier": CreditType.REMEDIATION_VERIFIER,
    "tool": CreditType.TOOL,
    "sponsor": CreditType.SPONSOR,
    "other": CreditType.ANALYST,
}


@dataclass(frozen=True)
class CveProduct:
    vendor: str
    product: str
    collection_url: str = ""
    package_name: str = ""
    affected_versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CvssScore:
    version: str
    vector: str
    score: float | None
    severity: str
    source: str  # "cna" or the ADP's short name


@dataclass(frozen=True)
class CveReference:
    """A CVE record: a summary for aliasing and linking, and `source`, the whole record as
    given."""

    cve_id: str
    title: str
    description: str
    assigner: str
    published: str
    source: SourceRecord
    products: tuple[CveProduct, ...] = ()
    cwe_ids: tuple[str, ...] = ()
    cvss: tuple[CvssScore, ...] = ()
    references: tuple[str, ...] = ()

    @property
    def is_prompt_injection(self) -> bool:
        return PROMPT_INJECTION_CWE in self.cwe_ids or bool(
            PROMPT_INJECTION_TEXT.search(f"{self.title}\n{self.description}")
        )


@dataclass
class CveImportResult(ImportResult):
    """`records`: every CVE kept; `reports`/`sources`: the draft reports (with a program)."""

    records: list[CveReference] = field(default_factory=list)


def _english(descriptions: Any) -> str:
    items = [d for d in descriptions or [] if isinstance(d, Mapping)]
    chosen = next((d for d in items if str(d.get("lang", "")).startswith("en")), None)
    chosen = chosen or (items[0] if items else None)
    value = chosen.get("value") if chosen else None
    return value.strip() if isinstance(value, str) else ""


def _text(value: Any, limit: int = 1_000) -> str:
    return clip(str(value), limit) if value is not None else ""


def _versions(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "version": _text(v.get("version")),
            "status": _text(v.get("status")),
            "version_type": _text(v.get("versionType")),
            "less_than": _text(v.get("lessThan")),
            "less_than_or_equal": _text(v.get("lessThanOrEqual")),
            "changes": [c for c in v.get("changes") or [] if isinstance(c, Mapping)],
        }
        for v in item.get("versions") or []
        if isinstance(v, Mapping)
    ]


def parse_product(item: Mapping[str, Any], cve_id: str) -> tuple[str, str, bool]:
    """(provider, name, parsed) of an affected product; conservative: an "ORG/NAME" product
    is split, a vendor the CNA names is the provider, anything else is not guessed."""
    vendor = str(item.get("vendor") or "").strip()
    product = str(item.get("product") or "").strip()
    package = str(item.get("packageName") or "").strip()
    named = product if product not in NOT_GIVEN else package
    if re.match(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$", named):
        provider, _, name = named.partition("/")
        return provider, name, True
    if vendor not in NOT_GIVEN and named not in NOT_GIVEN:
        return vendor, named, True
    if named not in NOT_GIVEN:
        return UNPARSED_PROVIDER, named, False
    # "n/a"/"n/a": the product is named only in prose. One artifact per CVE, so that unrelated
    # records never share an "n/a" artifact (and look like duplicates of each other).
    return UNPARSED_PROVIDER, f"{cve_id} (product not named)", False


def _products(cna: Mapping[str, Any], cve_id: str) -> list[dict[str, Any]]:
    products = []
    for item in cna.get("affected") or []:
        if not isinstance(item, Mapping):
            continue
        provider, name, parsed = parse_product(item, cve_id)
        given = " ".join(
            str(item.get(key) or "") for key in ("vendor", "product", "packageName")
        ).strip()
        products.append(
            {
                "source_name": clip(given or name, 1_000),
                "provider": clip(provider, 1_000),
                "name": clip(name, 1_000),
                "parsed": parsed,
                "vendor": _text(item.get("vendor") or ""),
                "product": _text(item.get("product") or ""),
                "collection_url": _text(item.get("collectionURL") or ""),
                "package_name": _text(item.get("packageName") or ""),
                "repo": _text(item.get("repo") or ""),
                "cpes": [str(c) for c in item.get("cpes") or [] if isinstance(c, str)],
                "platforms": [str(p) for p in item.get("platforms") or [] if isinstance(p, str)],
                "modules": [str(m) for m in item.get("modules") or [] if isinstance(m, str)],
                "default_status": _text(item.get("defaultStatus") or ""),
                "versions": _versions(item),
            }
        )
    return products


def _containers(record: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    containers = record.get("containers")
    if not isinstance(containers, Mapping):
        return []
    found: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(containers.get("cna"), Mapping):
        found.append(("cna", containers["cna"]))
    for adp in containers.get("adp") or []:
        if isinstance(adp, Mapping):
            meta = adp.get("providerMetadata")
            name = meta.get("shortName") if isinstance(meta, Mapping) else None
            found.append((str(name or "adp"), adp))
    return found


def _cwes(containers: list[tuple[str, Mapping[str, Any]]]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for source, container in containers:
        for problem in container.get("problemTypes") or []:
            for description in (problem or {}).get("descriptions") or []:
                cwe = description.get("cweId") if isinstance(description, Mapping) else None
                if isinstance(cwe, str) and CWE_ID.match(cwe):
                    text = _text(description.get("description") or "")
                    found.append({"id": cwe, "description": text, "source": source})
    return found


def _cvss(containers: list[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    scores = []
    for source, container in containers:
        for metric in container.get("metrics") or []:
            if not isinstance(metric, Mapping):
                continue
            for key, version in CVSS_KEYS.items():
                cvss = metric.get(key)
                if not isinstance(cvss, Mapping) or not cvss.get("vectorString"):
                    continue
                score = cvss.get("baseScore")
                scores.append(
                    {
                        "version": version,
                        "vector": str(cvss["vectorString"]).strip(),
                        "base_score": float(score) if isinstance(score, int | float) else None,
                        "base_severity": str(cvss.get("baseSeverity") or ""),
                        "source": source,
                    }
                )
    return scores


def _credits(cna: Mapping[str, Any]) -> list[dict[str, Any]]:
    credits = []
    for credit in cna.get("credits") or []:
        if not isinstance(credit, Mapping):
            continue
        name = str(credit.get("value") or "").strip()
        if not name:
            continue
        # CVE's schema: a credit without a type is a finder.
        given = str(credit.get("type") or "finder").strip()
        credits.append(
            {
                "name": clip(name, 200),
                "role": CREDIT_ROLE.get(given, CreditType.FINDER),
                "source_type": given,
            }
        )
    return credits


def _references(cna: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "url": str(ref["url"]).strip(),
            "label": _text(ref.get("name") or ""),
            "tags": [str(t) for t in ref.get("tags") or [] if isinstance(t, str)],
        }
        for ref in cna.get("references") or []
        if isinstance(ref, Mapping) and isinstance(ref.get("url"), str) and ref["url"].strip()
    ]


def _taxonomy(containers: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    taxonomy: dict[str, Any] = {}
    impacts = [
        {"source": source, **impact}
        for source, container in containers
        for impact in container.get("impacts") or []
        if isinstance(impact, Mapping)
    ]
    other = [
        {"source": source, **metric["other"]}
        for source, container in containers
        for metric in container.get("metrics") or []
        if isinstance(metric, Mapping) and isinstance(metric.get("other"), Mapping)
    ]
    if impacts:
        taxonomy["impacts"] = impacts
    if other:
        taxonomy["other_metrics"] = other
    taxonomy["adp"] = [source for source, _ in containers if source != "cna"]
    return taxonomy


def _source_record(
    cve_id: str,
    metadata: Mapping[str, Any],
    cna: Mapping[str, Any],
    containers: list[tuple[str, Mapping[str, Any]]],
    title: str,
    description: str,
) -> SourceRecord:
    references = _references(cna)
    aliases = [cve_id]
    for ref in references:
        match = GHSA_IN_URL.search(ref["url"])
        if match and GHSA_ID.match(match.group(1)) and match.group(1) not in aliases:
            aliases.append(match.group(1))
    return SourceRecord.model_validate(
        {
            "source": "cve",
            "source_id": cve_id,
            "importer": IMPORTER,
            "title": clip(title, 1_000),
            "description": clip(description, 20_000),
            "aliases": aliases[:20],
            "assigner": _text(metadata.get("assignerShortName") or ""),
            "assigner_org_id": _text(metadata.get("assignerOrgId") or ""),
            "state": _text(metadata.get("state") or ""),
            "date_reserved": _text(metadata.get("dateReserved") or ""),
            "date_published": _text(metadata.get("datePublished") or ""),
            "date_updated": _text(metadata.get("dateUpdated") or ""),
            "credits": _credits(cna),
            "cwes": _cwes(containers),
            "cvss": _cvss(containers),
            "products": _products(cna, cve_id),
            "references": references,
            "taxonomy": _taxonomy(containers),
        }
    )


def _reference(source: SourceRecord) -> CveReference:
    """The summary view of a kept record (what aliasing and linking read)."""
    return CveReference(
        cve_id=source.source_id,
        title=source.title,
        description=source.description,
        assigner=source.assigner or source.assigner_org_id,
        published=source.date_published,
        source=source,
        products=tuple(
            CveProduct(
                vendor=p.vendor,
                product=p.product or p.package_name,
                collection_url=p.collection_url,
                package_name=p.package_name,
                affected_versions=tuple(
                    v.version
                    + (f" < {v.less_than}" if v.less_than else "")
                    + (f" <= {v.less_than_or_equal}" if v.less_than_or_equal else "")
                    for v in p.versions
                    if v.status == "affected" and v.version
                ),
            )
            for p in source.products
        ),
        cwe_ids=tuple(dict.fromkeys(c.id for c in source.cwes)),
        cvss=tuple(
            CvssScore(
                version=c.version,
                vector=c.vector,
                score=c.base_score,
                severity=c.base_severity,
                source=c.source,
            )
            for c in source.cvss
        ),
        references=tuple(r.url for r in source.references),
    )


def _add_report(result: CveImportResult, where: str, record: CveReference, program: str) -> None:
    artifacts: list[dict[str, str]] = []
    for product in record.source.products:
        ref = {"provider": clip(product.provider, 200), "name": clip(product.name, 200)}
        if ref not in artifacts:
            artifacts.append(ref)
    if not artifacts:
        artifacts = [{"provider": UNPARSED_PROVIDER, "name": f"{record.cve_id} (no product)"}]
        result.note(where, "no affected product in the record")
    if record.is_prompt_injection:
        owasp, atlas = PROMPT_INJECTION_TECHNIQUE
        result.note(where, "technique LLM01/AML.T0051: prompt injection in the record")
    else:
        owasp, atlas = SUPPLY_CHAIN_TECHNIQUE
        result.note(where, "technique LLM03/AML.T0010: a flaw in an AI system's component")
    result.note(where, "CVE records have no harm taxonomy: harm 'other'")
    result.add_report(
        where,
        {
            "title": clip(f"{record.cve_id}: {record.title}", 200),
            "abstract": clip(
                f"Imported from {record.cve_id} (assigned by {record.assigner or 'unknown'}). "
                f"{record.description}",
                5_000,
            ),
            "program": program,
            "artifacts": artifacts[:20],
            "technique": {"owasp": owasp, "atlas": atlas},
            "harm_category": "other",
            "reproduction": {
                "turns": [{"role": "user", "content": MISSING_PROMPT}],
                "successes": 0,
                "trials": 0,
            },
            "impact": clip(record.description, 20_000),
        },
        record.source.model_dump(mode="json"),
    )


def import_cve_record(
    record: Any, *, source: str = "cve.json", program: str = ""
) -> CveImportResult:
    """The record kept as given (and, with a program, a draft report), or a skip saying why."""
    if program:
        require_program(program)
    result = CveImportResult()
    if not isinstance(record, Mapping) or record.get("dataType") != "CVE_RECORD":
        result.skip(source, "not a CVE JSON 5 record (dataType is not CVE_RECORD)")
        return result
    if not str(record.get("dataVersion", "")).startswith("5."):
        result.skip(source, f"unsupported dataVersion {record.get('dataVersion')!r}")
        return result
    metadata = record.get("cveMetadata")
    cve_id = metadata.get("cveId") if isinstance(metadata, Mapping) else None
    if not isinstance(cve_id, str) or not CVE_ID.match(cve_id):
        result.skip(source, "no valid cveMetadata.cveId")
        return result
    assert isinstance(metadata, Mapping)
    where = f"{source} ({cve_id})"
    if int(cve_id.split("-")[1]) < FIRST_CVE_YEAR:
        # The CVE schema's own examples use CVE-1337-1234: not a real vulnerability.
        result.skip(where, "example record (CVE year before 1999)")
        return result
    if metadata.get("state") != "PUBLISHED":
        result.skip(where, f"state {metadata.get('state')!r}: nothing to alias")
        return result
    containers = _containers(record)
    cna = next((c for name, c in containers if name == "cna"), None)
    if cna is None:
        result.skip(where, "no CNA container")
        return result
    description = _english(cna.get("descriptions"))
    if not description:
        result.skip(where, "CNA container has no description")
        return result
    title = str(cna.get("title") or "").strip() or description.split("\n")[0][:120]
    kept = _reference(_source_record(cve_id, metadata, cna, containers, title, description))
    result.records.append(kept)
    if program:
        _add_report(result, where, kept, program)
    return result


def import_cve_file(path: Path, *, program: str = "") -> CveImportResult:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        result = CveImportResult()
        result.skip(path.name, "not JSON")
        return result
    return import_cve_record(record, source=path.name, program=program)
