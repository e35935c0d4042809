"""garak report.jsonl import: hits grouped by probe and detector become draft reports.

garak (https://github.com/NVIDIA/garak) writes one JSON object per line: a `start_run setup`
entry with the run configuration, `init`, `attempt` entries (status 2 = evaluated, with
`detector_results` holding one score per output), one `eval` entry per probe/detector pair
(`passed` of `total_evaluated`), then `completion` and `digest`. An output is a hit when its
detector score reaches the run's `eval_threshold` (garak's default 0.5).

Per probe/detector pair with at least one hit, one draft report: successes/trials come from
the `eval` entry when present (garak's own count), else from counting scored outputs; the
first hit attempt with a usable prompt becomes the sealed reproduction; the generator (target)
becomes the artifact. Pairs without hits are skipped with their counts. Older garak wrote
prompts and outputs as plain strings, newer as Conversation/Message objects: both are read.
Hitlog lines (`*.hitlog.jsonl`, no entry_type) are read as hits too; a hitlog alone does not
say how many outputs were evaluated, so it gives no counts (0 trials: not counted).

Each report comes with its `SourceRecord`: source id `<run id>/<probe>/<detector>` (so a
re-import of the same run updates the same case), the run's start time, the generator and
its name as given, the counts with what they count, and garak's eval entry. The artifact's
provider is read only where it is certain: an ORG/NAME target name, or a generator that
serves one vendor's models (`PROVIDER_BY_GENERATOR`); an OpenAI-compatible, REST or other
generic client names no vendor, so the target name is kept under UNPARSED_PROVIDER.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modelcvd.interop.results import ImportResult, clip, require_program
from modelcvd.interop.source import GARAK_GENERATOR, UNPARSED_PROVIDER
from modelcvd.reports.document import Sampling

IMPORTER = "garak"

DEFAULT_EVAL_THRESHOLD = 0.5  # garak's run.eval_threshold default

# ATLAS technique and OWASP risk per garak probe module. garak's own tags are not in the
# report file, so the mapping is by module name; modules not listed are attack probes that
# try to make the model produce what it should refuse, i.e. jailbreaks: LLM01 / AML.T0054.
DEFAULT_TECHNIQUE = ("LLM01", "AML.T0054")
TECHNIQUE_BY_MODULE: dict[str, tuple[str, str]] = {
    "promptinject": ("LLM01", "AML.T0051"),
    "latentinjection": ("LLM01", "AML.T0051"),
    "leakreplay": ("LLM02", "AML.T0057"),
    "divergence": ("LLM02", "AML.T0057"),
    "xss": ("LLM05", "AML.T0077"),
    "ansiescape": ("LLM05", "AML.T0077"),
    "packagehallucination": ("LLM09", "AML.T0048"),
    "snowball": ("LLM09", "AML.T0048"),
    "misleading": ("LLM09", "AML.T0048"),
    "lmrc": ("LLM09", "AML.T0048"),
}
# Harm category per probe module (or module.Class); anything else is "other", because a
# probe's subject is not recorded in the report and guessing would mislabel the harm.
HARM_BY_PROBE: dict[str, str] = {
    "lmrc.QuackMedicine": "specialized_advice",
    "lmrc.SexualContent": "sexual_content",
    "lmrc.Sexualisation": "sexual_content",
    "lmrc.SlurUsage": "hate",
    "lmrc.Bullying": "hate",
    "realtoxicityprompts": "hate",
    "malwaregen": "nonviolent_crimes",
    "leakreplay": "intellectual_property",
    "divergence": "privacy",
}


# garak generators that talk to one vendor's own models (by module, or module.Class; a module
# alone means its default class). Generic clients (openai.OpenAICompatible, rest, litellm,
# nim, ollama, groq, ...) serve anyone's models and are absent on purpose.
PROVIDER_BY_GENERATOR: dict[str, str] = {
    "openai": "openai",
    "openai.OpenAIGenerator": "openai",
    "openai.OpenAIReasoningGenerator": "openai",
    "cohere": "cohere",
    "cohere.CohereGenerator": "cohere",
    "mistral": "mistralai",
    "mistral.MistralGenerator": "mistralai",
}


@dataclass
class _Group:
    """Everything seen for one probe/detector pair."""

    probe: str
    detector: str
    scored: int = 0
    hits: int = 0
    goal: str = ""
    reproduction: dict[str, Any] | None = None
    evaluated: tuple[int, int] | None = None  # (failures, total) from garak's eval entry
    eval_entry: dict[str, Any] | None = None
    from_hitlog: bool = False


def _text(content: Any) -> str:
    """A prompt/output part as text: a plain string (old garak) or a Message (new garak)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    return ""


def _turns(prompt: Any) -> tuple[str, list[dict[str, str]]]:
    """(system prompt, turns) from a garak prompt; empty turns when nothing usable."""
    if isinstance(prompt, str):
        return "", ([{"role": "user", "content": prompt}] if prompt.strip() else [])
    if not isinstance(prompt, Mapping):
        return "", []
    system, turns = "", []
    for turn in prompt.get("turns") or []:
        if not isinstance(turn, Mapping):
            continue
        role, text = turn.get("role"), _text(turn.get("content"))
        if role == "system":
            system = text
        elif role in {"user", "assistant"} and text.strip():
            turns.append({"role": str(role), "content": text})
    # A reproduction ends with what is sent to the model: a user turn.
    while turns and turns[-1]["role"] != "user":
        turns.pop()
    return system, turns


def _setting(setup: Mapping[str, Any], *names: str) -> Any:
    """The first setup value whose key ends with one of `names` (keys drift across versions)."""
    for key, value in setup.items():
        if value is not None and any(key == n or key.endswith("." + n) for n in names):
            return value
    return None


def _sampling(setup: Mapping[str, Any]) -> dict[str, Any]:
    """The sampling settings the report records; values the report format rejects are left
    out (the report-format default applies) rather than failing the whole report.

    Only run-wide keys and keys of the run's generator family count: the setup dump also
    holds the defaults of generators that were not used.
    """
    target_type = _setting(setup, "plugins.target_type", "plugins.model_type")
    family = target_type.split(".")[0] if isinstance(target_type, str) else ""
    relevant = {
        key: value
        for key, value in setup.items()
        if key.startswith("run.") or (family and f".{family}." in f".{key}")
    }
    sampling: dict[str, Any] = {}
    for field_name, keys in (
        ("temperature", ("temperature",)),
        ("top_p", ("top_p",)),
        ("max_tokens", ("max_tokens", "max_new_tokens")),
        ("seed", ("run.seed",)),
    ):
        value = _setting(relevant, *keys)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        try:
            Sampling.model_validate({field_name: value})
        except ValidationError:
            continue
        sampling[field_name] = value
    return sampling


def _artifact(setup: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]] | None:
    """(artifact reference, source product) for the run's target; None without a target."""
    target_type = _setting(setup, "plugins.target_type", "plugins.model_type")
    target_name = _setting(setup, "plugins.target_name", "plugins.model_name")
    if not isinstance(target_type, str) or not target_type:
        return None
    name = target_name.strip() if isinstance(target_name, str) else ""
    given = name or target_type
    if "/" in name.strip("/") and " " not in name:
        # Hugging Face style ORG/NAME: the organisation publishes the model.
        provider, _, model = name.strip("/").partition("/")
        parsed = True
    elif target_type in PROVIDER_BY_GENERATOR:
        provider, model, parsed = PROVIDER_BY_GENERATOR[target_type], given, True
    else:
        provider, model, parsed = UNPARSED_PROVIDER, given, False
    product = {
        "source_name": clip(f"{target_type} {name}".strip(), 1_000),
        "provider": provider,
        "name": clip(model, 1_000),
        "parsed": parsed,
        "artifact_type": GARAK_GENERATOR,
    }
    return {"provider": clip(provider, 200), "name": clip(model, 200)}, product


def _scores(detector_results: Any) -> dict[str, list[float]]:
    if not isinstance(detector_results, Mapping):
        return {}
    return {
        str(detector): [float(s) for s in scores if isinstance(s, int | float)]
        for detector, scores in detector_results.items()
        if isinstance(scores, list)
    }


def import_garak_report(
    lines: Iterable[str], *, program: str, source: str = "report.jsonl"
) -> ImportResult:
    """Draft reports from the lines of a garak report.jsonl (or hitlog.jsonl)."""
    require_program(program)
    result = ImportResult()
    setup: dict[str, Any] = {}
    version = ""
    run = {"id": "", "started": ""}
    groups: dict[tuple[str, str], _Group] = {}

    def group(probe: str, detector: str) -> _Group:
        return groups.setdefault((probe, detector), _Group(probe, detector))

    for number, line in enumerate(lines, start=1):
        where = f"{source}:{number}"
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            result.skip(where, "line is not JSON")
            continue
        if not isinstance(entry, dict):
            result.skip(where, "line is not a JSON object")
            continue
        kind = entry.get("entry_type")
        if kind == "start_run setup":
            setup = entry
        elif kind == "init":
            version = str(entry.get("garak_version") or "")
            # An aggregated report keeps the original run's id and start in orig_*.
            run["id"] = str(entry.get("orig_uuid") or entry.get("run") or "")
            run["started"] = str(entry.get("orig_start_time") or entry.get("start_time") or "")
        elif kind == "attempt":
            if entry.get("status") != 2:
                continue  # status 0/1: not (yet) evaluated; the status-2 copy follows
            probe = str(entry.get("probe_classname") or "")
            threshold = _setting(setup, "run.eval_threshold")
            if not isinstance(threshold, int | float):
                threshold = DEFAULT_EVAL_THRESHOLD
            for detector, scores in _scores(entry.get("detector_results")).items():
                pair = group(probe, detector)
                pair.scored += len(scores)
                hits = sum(score >= threshold for score in scores)
                pair.hits += hits
                pair.goal = pair.goal or str(entry.get("goal") or "")
                if hits and pair.reproduction is None:
                    system, turns = _turns(entry.get("prompt"))
                    if turns:
                        pair.reproduction = {"system_prompt": system, "turns": turns}
        elif kind == "eval":
            probe, detector = str(entry.get("probe") or ""), str(entry.get("detector") or "")
            total = entry.get("total_evaluated", entry.get("total"))
            passed = entry.get("passed")
            if isinstance(total, int) and isinstance(passed, int) and 0 <= passed <= total:
                pair = group(probe, detector)
                pair.evaluated = (total - passed, total)
                pair.eval_entry = {k: v for k, v in entry.items() if k != "entry_type"}
            else:
                result.skip(where, "eval entry without usable passed/total counts")
        elif kind is None and {"probe", "detector", "prompt"} <= entry.keys():
            # A hitlog line: one hit, with its prompt.
            pair = group(str(entry["probe"]), str(entry["detector"]))
            pair.hits += 1
            pair.scored += 1
            pair.from_hitlog = True
            pair.goal = pair.goal or str(entry.get("goal") or "")
            if pair.reproduction is None:
                system, turns = _turns(entry.get("prompt"))
                if turns:
                    pair.reproduction = {"system_prompt": system, "turns": turns}
        elif kind not in {"completion", "digest", None}:
            result.note(where, f"entry_type {kind!r} not used")

    target = _artifact(setup)
    sampling = _sampling(setup)
    run["id"] = str(_setting(setup, "transient.run_id") or run["id"] or source)
    run["started"] = str(_setting(setup, "transient.starttime_iso") or run["started"])
    for pair in groups.values():
        where = f"{source}: {pair.probe} / {pair.detector}"
        failures, total = pair.evaluated or (pair.hits, pair.scored)
        if failures == 0:
            result.skip(where, f"no hits: 0 of {total} outputs flagged by the detector")
            continue
        if target is None:
            result.skip(where, "no generator in the report (start_run setup missing)")
            continue
        if pair.reproduction is None:
            result.skip(where, "hits counted, but no hit attempt with a non-empty user prompt")
            continue
        counts = _counts(pair, failures, total)
        if not counts:
            result.note(where, "hitlog only: trials unknown, so no counts (not counted)")
        _build(result, where, pair, counts, target, sampling, version, run, program)
    return result


def _counts(pair: _Group, failures: int, total: int) -> list[dict[str, Any]]:
    """The pair's counts with what they count; none from a hitlog alone (trials unknown)."""
    if pair.evaluated is not None and pair.eval_entry is not None:
        passed = pair.eval_entry.get("passed")
        basis = f"garak eval entry: {passed} passed of {total} evaluated"
    elif pair.from_hitlog:
        return []
    else:
        basis = f"counted from garak's attempt entries: {failures} of {total} scored outputs hit"
    return [{"successes": failures, "trials": total, "basis": basis}]


def _build(
    result: ImportResult,
    where: str,
    pair: _Group,
    counts: list[dict[str, Any]],
    target: tuple[dict[str, str], dict[str, Any]],
    sampling: dict[str, Any],
    version: str,
    run: dict[str, str],
    program: str,
) -> None:
    assert pair.reproduction is not None
    artifact, product = target
    module = pair.probe.split(".")[0]
    owasp, atlas = TECHNIQUE_BY_MODULE.get(module, DEFAULT_TECHNIQUE)
    harm = HARM_BY_PROBE.get(pair.probe, HARM_BY_PROBE.get(module, "other"))
    generator = f"{artifact['provider']}/{artifact['name']}"
    goal = f" (probe goal: {clip(pair.goal, 300)})" if pair.goal else ""
    if not sampling:
        result.note(where, "sampling settings not in the report; report-format defaults used")
    if not product["parsed"]:
        result.note(
            where,
            f"generator {product['source_name']!r} names no vendor: provider "
            f"{UNPARSED_PROVIDER!r}, target name kept as given",
        )
    flagged = (
        f"flagged {counts[0]['successes']} of {counts[0]['trials']} evaluated outputs"
        if counts
        else "flagged outputs (hitlog: number evaluated not recorded)"
    )
    source_id = clip(f"{run['id']}/{pair.probe}/{pair.detector}", 300)
    result.add_report(
        where,
        {
            "title": clip(f"garak {pair.probe} hits on {generator} ({pair.detector})", 200),
            "abstract": clip(
                f"garak {version or '(unknown version)'} probe {pair.probe}{goal}: detector "
                f"{pair.detector} {flagged} of {generator}. Imported from a garak report; "
                "triage should confirm the classification.",
                5_000,
            ),
            "program": program,
            "artifacts": [artifact],
            "technique": {"owasp": owasp, "atlas": atlas},
            "harm_category": harm,
            "reproduction": {
                **pair.reproduction,
                "sampling": sampling,
                "successes": counts[0]["successes"] if counts else 0,
                "trials": counts[0]["trials"] if counts else 0,
            },
            "observed_behaviour": f"Detector {pair.detector} flagged the output.",
        },
        {
            "source": "garak",
            "source_id": source_id,
            "importer": IMPORTER,
            "title": clip(f"garak {pair.probe} / {pair.detector}", 1_000),
            "date_reported": run["started"],
            "products": [product],
            "taxonomy": {
                "garak_version": version,
                "probe": pair.probe,
                "detector": pair.detector,
                "generator": product["source_name"],
            },
            "scores": [pair.eval_entry] if pair.eval_entry else [],
            "counts": counts,
        },
    )


def import_garak_file(path: Path, *, program: str) -> ImportResult:
    with path.open(encoding="utf-8") as lines:
        return import_garak_report(lines, program=program, source=path.name)
