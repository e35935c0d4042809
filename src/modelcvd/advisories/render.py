"""Rendering an advisory for a reader on a channel: the only way any channel gets one.

`advisory_render` picks the level (`disclosure_level_for`, capped by the channel), adds the
unsealed reproduction only when that level includes it (the unseal is audited), and passes the
result through `policy.disclosure.redact`. Exports are built from that redacted view, never
from the model, so they cannot carry more than their reader may read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from pydantic import ValidationError

from modelcvd.accounts.models import User
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.selectors import disclosure_level_for
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.interop import avid, csaf, cve5, osv
from modelcvd.interop.advisory import GIT_COMMIT, AdvisoryDocument
from modelcvd.policy.commitment import Commitment
from modelcvd.policy.disclosure import Channel, Level, channel_level, redact
from modelcvd.reports.services import report_payload_open
from modelcvd.vocabulary import VersionStatus

Actor = AbstractBaseUser | AnonymousUser


def _reproduction(advisory: Advisory, actor: Actor, reason: str) -> list[dict[str, Any]]:
    assert isinstance(actor, User)
    reproductions = []
    reports = (
        advisory.case.reports.select_related("payload", "case__program")
        .exclude(payload=None)
        .exclude(held_out=True)  # never rendered, even if the level check above were wrong
        .order_by("pk")
    )
    for report in reports:
        payload = report_payload_open(
            report=report, actor=actor, reason=f"advisory {advisory.advisory_id}: {reason}"
        )
        reproductions.append({"report": report.pk, "sampling": report.sampling, **payload})
    return reproductions


def advisory_render(
    *, advisory: Advisory, actor: Actor, channel: Channel, reason: str = ""
) -> dict[str, Any]:
    """The advisory as `actor` may read it on `channel`. The sealed reproduction is opened only
    with the reader's `reason` (audited); a reader entitled to it who gives none gets
    `reproduction_sealed: true` instead, so pages and clients can ask for one."""
    level = channel_level(disclosure_level_for(actor=actor, advisory=advisory), channel)
    return render_at(advisory, level, actor=actor, reason=reason)


def render_at(
    advisory: Advisory, level: Level, *, actor: Actor | None = None, reason: str = ""
) -> dict[str, Any]:
    """The advisory at a given level (the caller has decided the reader is entitled to it)."""
    reproduction_level = Level.parse(advisory.reproduction_level)
    document = dict(advisory.document)
    sealed = False
    if level >= reproduction_level:
        if actor is None:
            raise ValueError("the reproduction is read by someone: pass the actor")
        if reason.strip():
            document["reproduction"] = _reproduction(advisory, actor, reason.strip())
        else:
            sealed = True
    shown = redact(document, level, reproduction_level=reproduction_level)
    if sealed:
        shown["reproduction_sealed"] = True
    return shown


def render_public(advisory: Advisory) -> dict[str, Any]:
    """The public level: the registry, the feed and the JSON Lines mirror."""
    return render_at(advisory, Level.PUBLIC)


def _version_display(revision: str, label: str) -> str:
    if revision and label:
        return f"{label} ({revision[:12]})"
    return label or revision


def version_rows(view: dict[str, Any]) -> list[dict[str, str]]:
    """Every version a rendered view lists, for people: the model, the version, its status in
    words, the fixing version and where the status comes from. What the page, the e-mail and
    the feed show; the exports say the same in their own fields (an imported product's
    versions as its source listed them, in place of the import's `unspecified`)."""
    rows = []
    sources = _source_versions(view)
    for entry in view["affected"]:
        given = sources.get((entry["provider"], entry["name"]))
        placeholder = entry["version_label"] == "unspecified" and not entry["revision"]
        if given and given["versions"] and placeholder:
            continue
        status = VersionStatus(entry.get("status", "affected"))
        fix = entry.get("fixed_in")
        rows.append(
            {
                "model": f"{entry['provider']}/{entry['name']}",
                "version": _version_display(entry["revision"], entry["version_label"]),
                "status": status.value,
                "status_label": status.label.lower(),
                "fixed_in": _version_display(fix["revision"], fix["version_label"]) if fix else "",
                "reason": entry.get("status_reason") or "",
                "repository_url": entry["repository_url"],
            }
        )
    listed = {(e["provider"], e["name"]) for e in view["affected"]}
    for (provider, name), given in sources.items():
        if (provider, name) not in listed:
            continue
        for version in given["versions"].values():
            status = version["status"]
            display = version["label"]
            if version["less_than"]:
                display += f" to before {version['less_than']}"
            elif version["less_than_or_equal"]:
                display += f" to {version['less_than_or_equal']}"
            rows.append(
                {
                    "model": f"{provider}/{name}",
                    "version": display,
                    "status": status.value,
                    "status_label": status.label.lower(),
                    "fixed_in": "",
                    "reason": version["reason"],
                    "repository_url": "",
                }
            )
    return rows


def version_line(row: dict[str, str]) -> str:
    """'acme-ai/acme-chat-7b v1.0 (3f1c2a9d8e7b): affected; fixed in v1.1 (9a8b7c6d5e4f)'."""
    line = f"{row['model']} {row['version']}: {row['status_label']}"
    return f"{line}; fixed in {row['fixed_in']}" if row["fixed_in"] else line


def advisory_url(advisory_id: str) -> str:
    return f"{settings.BASE_URL}/advisories/{advisory_id}/"


# -- exports ---------------------------------------------------------------------------------


def _version_key(entry: dict[str, Any], git: bool, taken: set[str]) -> tuple[str, str]:
    """(revision, label) of a listed version in the exporters' terms: a git commit keeps its
    revision; anything else is named by its label (or its free-form revision), made unique
    within its model so two versions never read as one."""
    if git:
        return entry["revision"], entry["version_label"]
    label = entry["version_label"] or entry["revision"] or "unspecified"
    if label in taken and entry["revision"] and entry["revision"] != label:
        label = f"{label} ({entry['revision']})"[:100]
    return "", label


# A source's version status word -> the vocabulary's (CVE 5 has affected, unaffected, unknown).
SOURCE_STATUS = {
    "affected": VersionStatus.AFFECTED,
    "unaffected": VersionStatus.NOT_AFFECTED,
    "not affected": VersionStatus.NOT_AFFECTED,
    "not_affected": VersionStatus.NOT_AFFECTED,
    "fixed": VersionStatus.FIXED,
}


def _source_versions(view: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(provider, name): {"default_status", "versions"}}: the versions each imported product's
    source listed, as export versions. The one place where a source's versions become the
    document's, so that every format lists them with the same statuses."""
    products: dict[tuple[str, str], dict[str, Any]] = {}
    for source in view.get("sources") or []:
        for product in source["products"]:
            if not product["versions"] and not product["default_status"]:
                continue
            entry = products.setdefault(
                (product["provider"], product["name"]), {"default_status": "", "versions": {}}
            )
            entry["default_status"] = entry["default_status"] or product["default_status"]
            for given in product["versions"]:
                status = SOURCE_STATUS.get(
                    given["status"].lower(), VersionStatus.UNDER_INVESTIGATION
                )
                version = {
                    "status": status,
                    "revision": "",
                    "label": given["version"] or "unspecified",
                    "reason": f"{source['source_id']} says {given['status'] or 'nothing'}"[:500],
                    "justification": None,
                    "weights_digest": "",
                    "fixed_in": "",
                    "version_type": given["version_type"],
                    "less_than": given["less_than"],
                    "less_than_or_equal": given["less_than_or_equal"],
                    "changes": given["changes"],
                    "source_status": given["status"],
                }
                key = (version["label"], given["less_than"], given["less_than_or_equal"])
                entry["versions"].setdefault(key, version)
    return products


def _artifacts(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The listed versions grouped per model (provider/name), each with its status: the same
    model at several versions is one artifact with several versions."""
    measurements = view.get("measurements") or []
    sources = _source_versions(view)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in view["affected"]:
        groups.setdefault((entry["provider"], entry["name"]), []).append(entry)
    artifacts = []
    for (provider, name), entries in groups.items():
        display = f"{provider}/{name}"
        repository = next((e["repository_url"] for e in entries if e["repository_url"]), "")
        purl = next((e["purl"] for e in entries if e.get("purl")), "")
        keys: dict[str, str] = {}  # the stored revision -> the version's key in the export
        versions = []
        for entry in entries:
            git = bool(repository) and GIT_COMMIT.match(entry["revision"]) is not None
            revision, label = _version_key(entry, git, set(keys.values()))
            keys[entry["revision"]] = revision or label
            versions.append(
                {
                    # Documents stored before statuses were listed named affected versions only.
                    "status": entry.get("status", "affected"),
                    "revision": revision,
                    "label": label,
                    "reason": (entry.get("status_reason") or "")[:500],
                    "justification": entry.get("justification"),
                    "weights_digest": entry["weights_digest"] if git else "",
                    "fixed_in": entry.get("fixed_in"),
                }
            )
        for version in versions:
            fixed = version.pop("fixed_in")
            version["fixed_in"] = keys.get(fixed["revision"], "") if fixed else ""
        default_status = ""
        if given := sources.get((provider, name)):
            default_status = given["default_status"]
            if given["versions"]:
                # The import lists the product as `unspecified`: the source's versions say more.
                versions = [v for v in versions if v["revision"] or v["label"] != "unspecified"] + [
                    v
                    for v in given["versions"].values()
                    if (v["label"], v["less_than"], v["less_than_or_equal"])
                    not in {(w["label"], "", "") for w in versions}
                ]
        revisions = {v["revision"] for v in versions if v["revision"]}
        rates = [
            {
                "revision": m["revision"] if m["revision"] in revisions else "",
                "successes": m["successes"],
                "trials": m["trials"],
                "confidence": m["confidence"],
                "provenance": m["provenance"],
            }
            for m in measurements
            if m["artifact"] == display
        ]
        artifacts.append(
            {
                "provider": provider,
                "name": name,
                "repository_url": repository,
                "purl": purl,
                "versions": versions,
                "default_status": default_status,
                "measurements": rates,
            }
        )
    return artifacts


def interop_document(view: dict[str, Any]) -> AdvisoryDocument:
    """The exporters' input, built from a redacted view: only what that view holds.
    Validated in one pass (one call into pydantic's core, not one per nested object)."""
    artifacts = _artifacts(view)
    remediations = [
        {"category": "mitigation", "details": view[key]}
        for key in ("mitigations", "mitigation_details")
        if view.get(key)
    ]
    details = []
    if view.get("detection_indicators"):
        details.append(
            "Detection indicators:\n"
            + "\n".join(f"- {indicator}" for indicator in view["detection_indicators"])
        )
    published = view["published"] or view["modified"]
    commitment = Commitment.parse(view["commitment"]).digest if view["commitment"] else ""
    return AdvisoryDocument.model_validate(
        {
            "id": view["id"],
            # This instance's own CVE is an alias too; `assigned_cve` says it is ours.
            "aliases": ([view["cve_id"]] if view.get("cve_id") else []) + view["aliases"],
            "assigned_cve": view.get("cve_id") or None,
            "title": view["title"],
            "summary": view["summary"],
            "details": "\n\n".join(details),
            "published": published,
            "modified": max(view["modified"], published, key=datetime.fromisoformat),
            "artifacts": artifacts,
            "owasp": view["technique"]["owasp"],
            "atlas_technique": view["technique"]["atlas"],
            "harm_category": view["harm_category"]["id"],
            "cvss_vector": view["severity"]["cvss_vector"] if view["severity"] else None,
            "credits": [{"name": c["name"], "role": c["role"]} for c in view["credits"]],
            "references": [
                {"url": r["url"], "kind": r["kind"], "label": r["label"]}
                for r in view["references"]
            ],
            "remediations": remediations,
            "disclosure_level": view["disclosure_level"],
            "payload_commitment": commitment,
            "sources": [
                {
                    "id": source["source_id"],
                    "assigner": source["assigner"],
                    "reserved": source["date_reserved"],
                    "reported": source["date_reported"],
                    "published": source["date_published"],
                    "updated": source["date_updated"],
                    "scores": [
                        {"version": c["version"], "vector": c["vector"], "source": c["source"]}
                        for c in source["cvss"]
                    ],
                    "cwes": list(dict.fromkeys(c["id"] for c in source["cwes"])),
                    "avid_class": _avid_taxonomy(source, "classof"),
                    "sep_view": _avid_taxonomy(source, "sep_view"),
                    "lifecycle_view": _avid_taxonomy(source, "lifecycle_view"),
                    "deployers": source["deployers"],
                    "artifact_types": {
                        f"{p['provider']}/{p['name']}": p["artifact_type"]
                        for p in source["products"]
                        if p["provider"] and p["artifact_type"]
                    },
                }
                for source in view.get("sources") or []
            ],
        }
    )


def _avid_taxonomy(source: dict[str, Any], key: str) -> Any:
    """An AVID record's class (a string) or SEP/lifecycle view (strings), as the importer kept
    it; empty for other sources and for values of another shape (real AVID records drift)."""
    taxonomy = source.get("taxonomy") or {}
    if source.get("source") != "avid" or not isinstance(taxonomy, dict):
        return "" if key == "classof" else []
    if key == "classof":
        value = taxonomy.get("classof")
        return value[:100] if isinstance(value, str) else ""
    views = taxonomy.get("avid")
    entries = views.get(key) if isinstance(views, dict) else None
    return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []


FILE_SUFFIX = {"cve5": "cve.json", "osv": "osv.json", "csaf": "csaf.json", "avid": "avid.json"}


class ExportRefused(InvalidInput):
    """One advisory that a format does not carry, and why: `modelcvd export` lists it beside
    the files it wrote, the web and the API answer 422 with the reason. `skipped` when the
    format has nothing to say about the advisory (a CVE record for an advisory without a CVE
    id of ours): not a failure."""

    def __init__(self, advisory_id: str, reason: str, *, skipped: bool = False) -> None:
        super().__init__([FieldError("advisory", reason)], message=f"{advisory_id}: {reason}")
        self.advisory_id = advisory_id
        self.reason = reason
        self.skipped = skipped


CNA_UNSET = (
    "a CVE record is written as this instance's CNA, and MODELCVD_CVE_CNA_ORG_ID and "
    "MODELCVD_CVE_CNA_SHORT_NAME are not set (docs/settings.md)"
)


def cna_from_settings() -> cve5.Cna | None:
    """The CNA this instance publishes CVE records as, or None when it is not one (both
    settings empty). ValueError naming the problem when they are half set or malformed."""
    org_id, short_name = settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME
    if not (org_id or short_name):
        return None
    if not (org_id and short_name):
        raise ValueError(
            "set both MODELCVD_CVE_CNA_ORG_ID and MODELCVD_CVE_CNA_SHORT_NAME, or neither"
        )
    return cve5.Cna(org_id=org_id, short_name=short_name)


def _reason(error: ValueError) -> str:
    """A validation failure in a line a reader can act on: where, and what is wrong."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'advisory'}: "
            f"{str(item['msg']).removeprefix('Value error, ')}"
            for item in error.errors(include_input=False, include_url=False)
        )
    return str(error)


def export_file_name(advisory_id: str, fmt: str) -> str:
    """The file an export is written to: CSAF's as CSAF 2.0 section 5.1 prescribes (the
    tracking id in lower case, `.json`), the others `<ID>.<format>.json`."""
    if fmt == "csaf":
        return csaf.csaf_file_name(advisory_id)
    return f"{advisory_id}.{FILE_SUFFIX[fmt]}"


def export_url(advisory_id: str, fmt: str) -> str:
    """Where the export is served as JSON (the CSAF document's `self` reference)."""
    return f"{settings.BASE_URL}/api/v1/advisories/{advisory_id}/export/{fmt}"


def export_view(view: dict[str, Any], fmt: str, *, csaf_url: str = "") -> dict[str, Any]:
    """One export format of a redacted view (at most defender level: see disclosure.py).
    ExportRefused when this advisory cannot be written in `fmt`, with the reason. `csaf_url`:
    where a CSAF document is served when not at the API (the CSAF provider's copy)."""
    if fmt not in FILE_SUFFIX:
        raise ValueError(f"unknown export format {fmt!r}; one of {sorted(FILE_SUFFIX)}")
    if Level.parse(view["disclosure_level"]) > Channel.EXPORT.ceiling:
        raise ValueError("exports carry at most the defender level")
    advisory_id = view["id"]
    try:
        document = interop_document(view)
        return _export(document, fmt, csaf_url=csaf_url)
    except ExportRefused:
        raise
    except ValueError as error:  # pydantic's ValidationError is one
        raise ExportRefused(advisory_id, _reason(error)) from None


def _export(document: AdvisoryDocument, fmt: str, *, csaf_url: str = "") -> dict[str, Any]:
    url = advisory_url(document.id)
    if fmt == "cve5":
        if document.assigned_cve is None:
            aliases = ", ".join(document.cve_aliases)
            others = f" (its CVE aliases {aliases} were assigned by another CNA)" if aliases else ""
            raise ExportRefused(
                document.id,
                f"no CVE id assigned by this instance's CNA{others}; a CVE record is written "
                "only for those",
                skipped=True,
            )
        cna = cna_from_settings()
        if cna is None:
            raise ExportRefused(document.id, CNA_UNSET)
        return cve5.cve_record(
            document, org_id=cna.org_id, short_name=cna.short_name, advisory_url=url
        )
    if fmt == "osv":
        return osv.osv_document(document, advisory_url=url)
    if fmt == "csaf":
        return csaf.csaf_vex(
            document,
            publisher_name=settings.PUBLISHER_NAME,
            publisher_namespace=settings.BASE_URL,
            advisory_url=url,
            document_url=csaf_url or export_url(document.id, "csaf"),
        )
    return avid.avid_report(document, advisory_url=url)


def advisory_export(*, advisory: Advisory, actor: Actor, fmt: str) -> dict[str, Any]:
    """An export of the advisory at the reader's level, capped at defender."""
    return export_view(advisory_render(advisory=advisory, actor=actor, channel=Channel.EXPORT), fmt)
