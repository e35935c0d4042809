"""AVID report/vulnerability import: lenient, because real AVID records drift from the model.

AVID (https://avidml.org) records describe a finding but never carry its reproduction, and
their shape varies by data_version (0.1 metrics without results, empty `classof`, sep_view
spellings that differ from the enum, inspect-style metrics). This importer reads what it can
and builds a draft report per record about a model, AI system or ML software, with the
record's faithful copy (`SourceRecord`): its id and the AVID vulnerability it belongs to
(aliases), credits, reported/published/modified dates, problem class and type, SEP and
lifecycle views, ATLAS/ODIN blocks, CVSS and CWE, developers and deployers, artifact types,
per-model scores and references, as given.

* "AIID Incident" records name no tested artifact: skipped.
* Artifacts: "ORG/NAME" names are split; a name prefixed with its named developer
  ("DeepSeek DeepSeek V3" by "DeepSeek") loses the prefix; the only artifact of a record with
  one plainly named developer is that developer's. Anything else is not guessed: the name
  stays the source's string under UNPARSED_PROVIDER.
* The technique comes from the record's ATLAS block when it names a known technique, else
  from what the text says (jailbreak / prompt injection), else from the AVID SEP view.
* The harm category comes from the SEP view alone (`HARM_BY_SEP`), never from the prose.
* Counts come from garak-style metric rows (failures = `total_evaluated` - `passed`, one
  count per detector row) and modelcvd-style results (`successes` of `trials`). A record
  without counts gives none: its report has 0 trials ("not counted") and no measurement.
* AVID publishes no prompt, so the reproduction holds a marker turn (MISSING_PROMPT) that
  says so; the importing layer must ask the reporter for the real one before any replay.

Every default applied is listed in `ImportResult.notes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelcvd.interop.advisory import AVID_ID, CVE_ID
from modelcvd.interop.results import ImportResult, clip, require_program
from modelcvd.interop.source import UNPARSED_PROVIDER
from modelcvd.taxonomy import atlas_technique_name

IMPORTER = "avid"

# Placed as the only reproduction turn of every AVID import, because the report format needs
# one and AVID has none. A marker, never a prompt: the Django layer checks for it.
MISSING_PROMPT = "[modelcvd import] The source AVID record publishes no reproduction prompt."

SKIPPED_CLASSES = {
    "AIID Incident": "incident report without a tested model artifact",
}

# Text markers that name the technique more precisely than AVID's taxonomy does.
JAILBREAK = re.compile(r"jailbreak|guardrail|safety bypass|content safety", re.IGNORECASE)
PROMPT_INJECTION = re.compile(r"prompt injection", re.IGNORECASE)

# AVID SEP view -> (OWASP LLM 2025, ATLAS technique), by SEP code. OWASP 2025 has no entry for
# bias, toxicity or accuracy; LLM09 (outputs that mislead or harm when relied on) is the
# nearest, with ATLAS's External Harms (AML.T0048). Adversarial examples are evasion
# (AML.T0015); OWASP files crafted model inputs under LLM01.
TECHNIQUE_BY_SEP: dict[str, tuple[str, str]] = {
    "S0100": ("LLM05", "AML.T0077"),
    "S0200": ("LLM03", "AML.T0010"),
    "S0201": ("LLM03", "AML.T0010"),
    "S0202": ("LLM03", "AML.T0010"),
    "S0300": ("LLM06", "AML.T0053"),
    "S0301": ("LLM02", "AML.T0057"),
    "S0302": ("LLM10", "AML.T0029"),
    "S0400": ("LLM01", "AML.T0054"),
    "S0403": ("LLM01", "AML.T0015"),
    "S0500": ("LLM02", "AML.T0024"),
    "S0501": ("LLM02", "AML.T0024"),
    "S0502": ("LLM02", "AML.T0024"),
    "S0600": ("LLM04", "AML.T0020"),
    "S0601": ("LLM04", "AML.T0020"),
}
ETHICS_OR_PERFORMANCE = ("LLM09", "AML.T0048")
# A record about an AI model that says nothing classifiable: the most common AVID finding
# about a deployed model is a harmful-output one, so it gets the ethics/performance mapping.
DEFAULT_TECHNIQUE = ETHICS_OR_PERFORMANCE

# Harm category (AILuminate) by AVID SEP code: only the SEP entries that name a harm to
# people. Bias, discrimination, unfair treatment and toxicity demean people for who they are
# (AILuminate "hate"); the privacy entries are "privacy". Security and performance entries
# name no harm category; a record with none of these gets "other" (noted). Never read from
# the record's prose: a record about false references that mentions privacy is not a privacy
# harm.
HARM_BY_SEP: dict[str, str] = {
    "E0100": "hate",
    "E0101": "hate",
    "E0102": "hate",
    "E0301": "hate",
    "P0300": "privacy",
    "P0301": "privacy",
    "P0302": "privacy",
    "P0303": "privacy",
}

ORG_SLASH_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# A developer name plain enough to stand as a provider: no URL, no parentheses, no slash.
PLAIN_NAME = re.compile(r"^[^/()\[\]:]{1,100}$")
CVE_IN_URL = re.compile(r"[?=/](CVE-\d{4}-\d{4,})(?:$|[&#/])")
CVSS_VERSIONS = {"2.0", "3.0", "3.1", "4.0"}


def _lang_value(value: Any) -> str:
    if isinstance(value, Mapping):
        text = value.get("value")
        return text.strip() if isinstance(text, str) else ""
    return value.strip() if isinstance(value, str) else ""


def _record_id(record: Mapping[str, Any], source: str) -> str:
    metadata = record.get("metadata")
    if isinstance(metadata, Mapping):
        for key in ("report_id", "vuln_id"):
            if isinstance(metadata.get(key), str) and metadata[key]:
                return str(metadata[key])
    return source


def _strings(values: Any) -> list[str]:
    return [v.strip() for v in values or [] if isinstance(v, str) and v.strip()]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_artifact_name(
    name: str, *, developers: list[str], only_artifact: bool
) -> tuple[str, str, bool]:
    """(provider, name, parsed) for an artifact as AVID names it; conservative: when unsure,
    (UNPARSED_PROVIDER, the source's string, False)."""
    if ORG_SLASH_NAME.match(name):
        provider, _, model = name.partition("/")
        return provider, model, True
    plain = [d for d in developers if PLAIN_NAME.match(d)]
    for developer in plain:
        if name.startswith(f"{developer} {developer} "):
            # "DeepSeek DeepSeek V3" by developer "DeepSeek": the model is "DeepSeek V3".
            return developer, name[len(developer) + 1 :], True
        if name.startswith(developer + " "):
            # "Moltbook Platform" by "Moltbook": attributed, the name kept whole (the rest,
            # "Platform", would not name the product).
            return developer, name, True
    if only_artifact and len(plain) == 1 and PLAIN_NAME.match(name):
        return plain[0], name, True
    return UNPARSED_PROVIDER, name, False


def _products(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    affects = _mapping(record.get("affects"))
    developers = _strings(affects.get("developer"))
    listed = [a for a in affects.get("artifacts") or [] if isinstance(a, Mapping)]
    named = [a for a in listed if str(a.get("name") or "").strip()]
    models = [a for a in named if a.get("type") != "Dataset"]
    products = []
    for artifact in named[:50]:
        source_name = clip(str(artifact["name"]), 1_000)
        kind = str(artifact.get("type") or "")
        provider, name, parsed = "", "", False
        if kind != "Dataset":
            provider, name, parsed = parse_artifact_name(
                source_name, developers=developers, only_artifact=len(models) == 1
            )
        products.append(
            {
                "source_name": source_name,
                "provider": provider,
                "name": name,
                "parsed": parsed,
                "artifact_type": kind,
            }
        )
    return products


def _technique(impact: Mapping[str, Any], sep_codes: list[str], text: str) -> tuple[str, str, str]:
    """(owasp, atlas, how it was chosen)."""
    atlas_ids = [
        str(entry["technique"])
        for entry in impact.get("atlas") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("technique"), str)
    ]
    owasp = next(
        (TECHNIQUE_BY_SEP[c][0] for c in sep_codes if c in TECHNIQUE_BY_SEP),
        ETHICS_OR_PERFORMANCE[0] if sep_codes else DEFAULT_TECHNIQUE[0],
    )
    for technique in atlas_ids:
        if atlas_technique_name(technique) is not None:
            return owasp, technique, "ATLAS block of the record"
    if JAILBREAK.search(text) or impact.get("odin"):
        return "LLM01", "AML.T0054", "jailbreak named in the record"
    if PROMPT_INJECTION.search(text):
        return "LLM01", "AML.T0051", "prompt injection named in the record"
    for code in sep_codes:
        if code in TECHNIQUE_BY_SEP:
            return (*TECHNIQUE_BY_SEP[code], f"AVID SEP view {code}")
    if sep_codes:
        return (*ETHICS_OR_PERFORMANCE, "AVID ethics/performance SEP view")
    return (*DEFAULT_TECHNIQUE, "no classification in the record: default")


def _counts(record: Mapping[str, Any], products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The record's counts, one per garak detector row or modelcvd-style result, as given.

    garak rows give `passed` of `total_evaluated`: the attack succeeded on the others.
    modelcvd-style results (as avid.py exports them) give `successes` of `trials` per
    artifact revision, with the exporting instance's provenance, which is kept in `basis`.
    """
    counts: list[dict[str, Any]] = []
    for metric in record.get("metrics") or []:
        results = metric.get("results") if isinstance(metric, Mapping) else None
        if not isinstance(results, Mapping):
            continue
        successes, trials = results.get("successes"), results.get("trials")
        if isinstance(successes, int) and isinstance(trials, int) and 0 <= successes <= trials > 0:
            origin = _mapping(results.get("provenance"))
            basis = f"{successes} successes of {trials} trials"
            if origin.get("origin") == "replayed":
                basis += f" (replayed by the exporter, run #{origin.get('run_id')})"
            elif origin.get("source"):
                basis += f" (reported to the exporter by {origin.get('source')})"
            counts.append(
                {
                    "successes": successes,
                    "trials": trials,
                    "basis": clip(basis, 1_000),
                    "artifact": clip(str(results.get("artifact") or ""), 1_000),
                    "revision": clip(str(results.get("revision") or ""), 1_000),
                }
            )
        for row in results.get("rows") or []:
            if not isinstance(row, Mapping):
                continue
            passed, total = row.get("passed"), row.get("total_evaluated")
            if isinstance(passed, int) and isinstance(total, int) and 0 <= passed <= total > 0:
                detector = str(row.get("detector") or "a detector")
                counts.append(
                    {
                        "successes": total - passed,
                        "trials": total,
                        "basis": clip(
                            f"garak detector {detector}: {passed} passed of {total} evaluated",
                            1_000,
                        ),
                        "artifact": products[0]["source_name"] if len(products) == 1 else "",
                    }
                )
    return counts


def _credits(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    # AVID credits are names (often "Name, Affiliation") with no credit type: each is kept
    # whole, as a finder, since AVID credits the people who found and reported the issue.
    names = [_lang_value(credit) for credit in record.get("credit") or []]
    return [{"name": clip(name, 200), "role": "finder"} for name in names if name]


def _references(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "url": str(ref["url"]).strip(),
            "label": clip(str(ref.get("label") or ""), 1_000),
            "type": str(ref.get("type") or ""),
        }
        for ref in record.get("references") or []
        if isinstance(ref, Mapping) and isinstance(ref.get("url"), str) and ref["url"].strip()
    ]


def _aliases(record: Mapping[str, Any], record_id: str, avid: Mapping[str, Any]) -> list[str]:
    """The record's id, the AVID vulnerability or reports it is linked to, and the CVE a
    "CVE Entry" points at through its cve.org / NVD reference."""
    found = [record_id]
    found.append(str(avid.get("vuln_id") or ""))
    found += [
        str(linked.get("report_id") or "")
        for linked in record.get("reports") or []
        if isinstance(linked, Mapping)
    ]
    for ref in _references(record):
        if match := CVE_IN_URL.search(ref["url"]):
            found.append(match.group(1))
    aliases: list[str] = []
    for alias in found:
        if (AVID_ID.match(alias) or CVE_ID.match(alias)) and alias not in aliases:
            aliases.append(alias)
    return aliases[:20]


def _cvss(impact: Mapping[str, Any]) -> list[dict[str, Any]]:
    cvss = _mapping(impact.get("cvss"))
    vector, version = cvss.get("vectorString"), str(cvss.get("version") or "")
    if not isinstance(vector, str) or not vector.strip() or version not in CVSS_VERSIONS:
        return []
    score = cvss.get("baseScore")
    return [
        {
            "version": version,
            "vector": vector.strip(),
            "source": "AVID",
            "base_score": float(score) if isinstance(score, int | float) else None,
            "base_severity": str(cvss.get("baseSeverity") or ""),
        }
    ]


def _cwes(impact: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"id": cwe["cweId"], "description": clip(str(cwe.get("description") or ""), 1_000)}
        for cwe in impact.get("cwe") or []
        if isinstance(cwe, Mapping) and re.match(r"^CWE-[1-9]\d*$", str(cwe.get("cweId") or ""))
    ]


def _source_record(
    record: Mapping[str, Any],
    record_id: str,
    title: str,
    description: str,
    products: list[dict[str, Any]],
    counts: list[dict[str, Any]],
) -> dict[str, Any]:
    problem = _mapping(record.get("problemtype"))
    impact = _mapping(record.get("impact"))
    avid = _mapping(impact.get("avid"))
    affects = _mapping(record.get("affects"))
    taxonomy: dict[str, Any] = {
        "data_version": str(record.get("data_version") or ""),
        "classof": str(problem.get("classof") or ""),
        "type": str(problem.get("type") or ""),
    }
    for key in ("avid", "atlas", "odin"):
        if impact.get(key):
            taxonomy[key] = impact[key]
    return {
        "source": "avid",
        "source_id": record_id,
        "importer": IMPORTER,
        "title": clip(title, 1_000),
        "description": clip(description, 20_000),
        "aliases": _aliases(record, record_id, avid),
        "date_reported": str(record.get("reported_date") or ""),
        "date_published": str(record.get("published_date") or ""),
        "date_updated": str(record.get("last_modified_date") or ""),
        "credits": _credits(record),
        "cwes": _cwes(impact),
        "cvss": _cvss(impact),
        "products": products,
        "references": _references(record),
        "taxonomy": taxonomy,
        "developers": _strings(affects.get("developer")),
        "deployers": _strings(affects.get("deployer")),
        "scores": [m for m in record.get("metrics") or [] if isinstance(m, Mapping)],
        "counts": counts,
    }


def import_avid_record(record: Any, *, program: str, source: str = "avid.json") -> ImportResult:
    """A draft report from one AVID report or vulnerability, or a skip saying why not."""
    require_program(program)
    result = ImportResult()
    if not isinstance(record, Mapping):
        result.skip(source, "not a JSON object")
        return result
    if record.get("data_type") not in {"AVID", None}:
        result.skip(source, f"data_type {record.get('data_type')!r} is not AVID")
        return result
    record_id = _record_id(record, source)
    where = f"{source} ({record_id})"
    problem = _mapping(record.get("problemtype"))
    classof = str(problem.get("classof") or "")
    if classof in SKIPPED_CLASSES:
        result.skip(where, f"{classof}: {SKIPPED_CLASSES[classof]}")
        return result
    products = _products(record)
    artifacts = [
        {"provider": clip(p["provider"], 200), "name": clip(p["name"], 200)}
        for p in products
        if p["artifact_type"] != "Dataset"
    ][:20]
    if not artifacts:
        result.skip(where, "names no model or system artifact")
        return result
    unparsed = [p["source_name"] for p in products if p["provider"] == UNPARSED_PROVIDER]
    if unparsed:
        result.note(
            where,
            f"{len(unparsed)} artifact name(s) not attributable to a provider with certainty: "
            f"kept as given under {UNPARSED_PROVIDER!r}",
        )

    title = _lang_value(problem.get("description")) or _lang_value(record.get("description"))
    description = _lang_value(record.get("description")) or title
    if len(title) < 3:
        result.skip(where, "no title or description")
        return result
    text = f"{title}\n{description}"

    impact = _mapping(record.get("impact"))
    sep_codes = [
        s.split(":")[0].strip() for s in _mapping(impact.get("avid")).get("sep_view") or []
    ]
    owasp, atlas, chosen_by = _technique(impact, [c for c in sep_codes if c], text)
    result.note(where, f"technique {owasp}/{atlas} from {chosen_by}")
    harm = next((HARM_BY_SEP[code] for code in sep_codes if code in HARM_BY_SEP), None)
    if harm is None:
        harm = "other"
        result.note(where, "no harm category in the record's SEP view: 'other'")
    counts = _counts(record, products)
    if counts and all(c["successes"] == 0 for c in counts):
        result.skip(where, f"metrics show no failures (0 of {counts[0]['trials']})")
        return result
    # The report carries the worst of the source's counts (what a report is about); the
    # advisory shows each of them with its basis.
    worst = max(counts, key=lambda c: c["successes"] / c["trials"], default=None)
    if worst is None:
        result.note(where, "no counts in the record: no measurement (0 trials, not counted)")
    result.note(where, "AVID publishes no prompt: reproduction holds the MISSING_PROMPT marker")

    result.add_report(
        where,
        {
            "title": clip(title, 200),
            "abstract": clip(
                f"Imported from {record_id} ({classof or 'unclassified'}). {description}", 5_000
            ),
            "program": program,
            "artifacts": artifacts,
            "technique": {"owasp": owasp, "atlas": atlas},
            "harm_category": harm,
            "reproduction": {
                "turns": [{"role": "user", "content": MISSING_PROMPT}],
                "successes": worst["successes"] if worst else 0,
                "trials": worst["trials"] if worst else 0,
            },
            "impact": clip(description, 20_000),
        },
        _source_record(record, record_id, title, description, products, counts),
    )
    return result


def import_avid_file(path: Path, *, program: str) -> ImportResult:
    try:
        record = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        result = ImportResult()
        result.skip(path.name, "not JSON")
        return result
    return import_avid_record(record, program=program, source=path.name)
