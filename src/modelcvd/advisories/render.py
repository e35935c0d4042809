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

from modelcvd.accounts.models import User
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.selectors import disclosure_level_for
from modelcvd.interop import avid, csaf, cve5, osv
from modelcvd.interop.advisory import AdvisoryDocument
from modelcvd.policy.commitment import Commitment
from modelcvd.policy.disclosure import Channel, Level, channel_level, redact
from modelcvd.reports.services import report_payload_open

Actor = AbstractBaseUser | AnonymousUser


def _reproduction(advisory: Advisory, actor: Actor) -> list[dict[str, Any]]:
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
            report=report,
            actor=actor,
            reason=f"advisory {advisory.advisory_id} read at the vendor level",
        )
        reproductions.append({"report": report.pk, "sampling": report.sampling, **payload})
    return reproductions


def advisory_render(*, advisory: Advisory, actor: Actor, channel: Channel) -> dict[str, Any]:
    """The advisory as `actor` may read it on `channel`."""
    level = channel_level(disclosure_level_for(actor=actor, advisory=advisory), channel)
    return render_at(advisory, level, actor=actor)


def render_at(advisory: Advisory, level: Level, *, actor: Actor | None = None) -> dict[str, Any]:
    """The advisory at a given level (the caller has decided the reader is entitled to it)."""
    reproduction_level = Level.parse(advisory.reproduction_level)
    document = dict(advisory.document)
    if level >= reproduction_level:
        if actor is None:
            raise ValueError("the reproduction is read by someone: pass the actor")
        document["reproduction"] = _reproduction(advisory, actor)
    return redact(document, level, reproduction_level=reproduction_level)


def render_public(advisory: Advisory) -> dict[str, Any]:
    """The public level: the registry, the feed and the JSON Lines mirror."""
    return render_at(advisory, Level.PUBLIC)


def advisory_url(advisory_id: str) -> str:
    return f"{settings.BASE_URL}/advisories/{advisory_id}/"


# -- exports ---------------------------------------------------------------------------------


def interop_document(view: dict[str, Any]) -> AdvisoryDocument:
    """The exporters' input, built from a redacted view: only what that view holds.
    Validated in one pass (one call into pydantic's core, not one per nested object)."""
    measurements = view.get("measurements") or []
    artifacts = []
    for entry in view["affected"]:
        display = f"{entry['provider']}/{entry['name']}"
        git = bool(entry["repository_url"])
        # Counts and provenance; the exact interval is recomputed from the counts.
        rates = [
            {
                "revision": m["revision"] if git else "",
                "successes": m["successes"],
                "trials": m["trials"],
                "confidence": m["confidence"],
                "provenance": m["provenance"],
            }
            for m in measurements
            if m["artifact"] == display and (not git or m["revision"] == entry["revision"])
        ]
        label = entry["version_label"] or ("" if git else entry["revision"]) or "unspecified"
        artifacts.append(
            {
                "provider": entry["provider"],
                "name": entry["name"],
                "repository_url": entry["repository_url"],
                "affected_revisions": [entry["revision"]] if git else [],
                "version_label": label,
                "weights_digest": entry["weights_digest"] if git else "",
                "measurements": rates,
            }
        )
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
            "aliases": view["aliases"],
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


def export_view(view: dict[str, Any], fmt: str) -> dict[str, Any]:
    """One export format of a redacted view (at most defender level: see disclosure.py)."""
    if Level.parse(view["disclosure_level"]) > Channel.EXPORT.ceiling:
        raise ValueError("exports carry at most the defender level")
    document = interop_document(view)
    url = advisory_url(document.id)
    if fmt == "cve5":
        if document.cve_id:
            return cve5.cve_record(
                document,
                org_id=settings.CVE_ORG_ID,
                short_name=settings.CVE_SHORT_NAME,
                advisory_url=url,
            )
        # No CVE id assigned yet: the CNA container, as CVE Services takes it.
        return cve5.cna_container(
            document,
            org_id=settings.CVE_ORG_ID,
            short_name=settings.CVE_SHORT_NAME,
            advisory_url=url,
        )
    if fmt == "osv":
        return osv.osv_document(document, advisory_url=url)
    if fmt == "csaf":
        return csaf.csaf_vex(
            document,
            publisher_name=settings.PUBLISHER_NAME,
            publisher_namespace=settings.BASE_URL,
            advisory_url=url,
        )
    if fmt == "avid":
        return avid.avid_report(document, advisory_url=url)
    raise ValueError(f"unknown export format {fmt!r}; one of {sorted(FILE_SUFFIX)}")


def advisory_export(*, advisory: Advisory, actor: Actor, fmt: str) -> dict[str, Any]:
    """An export of the advisory at the reader's level, capped at defender."""
    return export_view(advisory_render(advisory=advisory, actor=actor, channel=Channel.EXPORT), fmt)
