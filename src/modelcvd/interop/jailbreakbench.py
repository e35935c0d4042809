"""JailbreakBench attack-artifact import: each jailbroken behaviour becomes a draft report.

An artifact (https://github.com/JailbreakBench/artifacts) is `{"parameters": {...},
"jailbreaks": [...]}`: one entry per benchmark behaviour with the submitted `prompt`, the
target's `response` and the benchmark judge's verdict `jailbroken`. Each entry judged
jailbroken becomes a report whose sealed reproduction is the prompt as a single user turn.
The response is not imported: it is harmful output, not part of the reproduction, and a
replay regenerates it. Entries not jailbroken, or without a prompt, are skipped.

One submitted prompt judged once is an observation, not a rate: the reports carry no counts
(0 trials, "not counted") and so no measurement. Each comes with its `SourceRecord`: source
id `<method>/<attack type>/<model>#<behaviour index>`, the evaluation date, the benchmark's
own category and behaviour, and the artifact's parameters (its success rate and counts over
the whole benchmark) as given.

These files hold working jailbreak prompts. Nothing here logs, prints or quotes a prompt,
goal or response: titles and abstracts use the behaviour label and category only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelcvd.interop.results import ImportResult, clip, require_program
from modelcvd.interop.source import UNPARSED_PROVIDER

IMPORTER = "jailbreakbench"

# A JailbreakBench jailbreak is a prompt that gets the model to do what its safety training
# should refuse: ATLAS "LLM Jailbreak" (AML.T0054), which OWASP files under LLM01 Prompt
# Injection ("jailbreaking is a form of prompt injection").
ATLAS_TECHNIQUE = "AML.T0054"
OWASP_RISK = "LLM01"

# JailbreakBench's own generation settings (jailbreakbench/config.py: TEMPERATURE = 0,
# TOP_P = 0.9, MAX_GENERATION_LENGTH = 150): the conditions under which `jailbroken` was judged.
TEMPERATURE = 0.0
TOP_P = 0.9
MAX_GENERATION_LENGTH = 150

# Model names JailbreakBench uses -> (provider, name) of the exact model: the Hugging Face
# repositories from jailbreakbench/config.py (HF_MODEL_NAMES), and OpenAI's API models.
MODELS: dict[str, tuple[str, str]] = {
    "vicuna-13b-v1.5": ("lmsys", "vicuna-13b-v1.5"),
    "llama-2-7b-chat-hf": ("meta-llama", "Llama-2-7b-chat-hf"),
    "gpt-3.5-turbo-1106": ("openai", "gpt-3.5-turbo-1106"),
    "gpt-4-0125-preview": ("openai", "gpt-4-0125-preview"),
}

# JBB-Behaviors categories (from OpenAI's usage policies) -> AILuminate hazard categories.
# Cyber attacks, fraud and economic harm are non-violent crimes in AILuminate; disinformation
# and government decision-making have no AILuminate counterpart, hence "other".
HARM_BY_CATEGORY: dict[str, str] = {
    "Harassment/Discrimination": "hate",
    "Malware/Hacking": "nonviolent_crimes",
    "Physical harm": "violent_crimes",
    "Economic harm": "nonviolent_crimes",
    "Fraud/Deception": "nonviolent_crimes",
    "Disinformation": "other",
    "Sexual/Adult content": "sexual_content",
    "Privacy": "privacy",
    "Expert advice": "specialized_advice",
    "Government decision-making": "other",
}


# The artifact-level figures an artifact's parameters give (over all 100 behaviours): kept as
# the source's scores, never turned into a per-report rate.
BENCHMARK_FIGURES = (
    "attack_success_rate",
    "total_number_of_jailbreaks",
    "number_of_submitted_prompts",
    "total_number_of_queries",
)


def _artifact(model: str) -> tuple[dict[str, str], bool]:
    """(artifact reference, known) for a JailbreakBench model name."""
    if model in MODELS:
        provider, name = MODELS[model]
        return {"provider": provider, "name": name}, True
    return {"provider": UNPARSED_PROVIDER, "name": clip(model, 200)}, False


def _sampling(parameters: Mapping[str, Any]) -> dict[str, Any]:
    method = parameters.get("method_parameters")
    max_tokens = MAX_GENERATION_LENGTH
    if isinstance(method, Mapping):
        declared = method.get("target-max-n-tokens")
        if isinstance(declared, int) and 1 <= declared <= 32_768:
            max_tokens = declared
    return {"temperature": TEMPERATURE, "top_p": TOP_P, "max_tokens": max_tokens}


def import_jailbreakbench_artifact(
    artifact: Any, *, program: str, source: str = "artifact.json"
) -> ImportResult:
    """Draft reports from a parsed JailbreakBench attack artifact."""
    require_program(program)
    result = ImportResult()
    if not isinstance(artifact, Mapping):
        result.skip(source, "not a JSON object")
        return result
    parameters = artifact.get("parameters")
    jailbreaks = artifact.get("jailbreaks")
    if not isinstance(parameters, Mapping) or not isinstance(jailbreaks, list):
        result.skip(source, "not a JailbreakBench artifact (parameters/jailbreaks missing)")
        return result

    model = str(parameters.get("model") or "")
    if not model:
        result.skip(source, "artifact names no target model")
        return result
    method = str(parameters.get("method") or "unknown method")
    attack_type = str(parameters.get("attack_type") or "")
    defense = parameters.get("defense")
    artifact_ref, known = _artifact(model)
    if not known:
        result.note(
            source, f"model {model!r} not in the known list: provider {UNPARSED_PROVIDER!r}"
        )
    product = {
        "source_name": clip(model, 1_000),
        "provider": artifact_ref["provider"],
        "name": artifact_ref["name"],
        "parsed": known,
        "artifact_type": "JailbreakBench target model",
    }
    figures = {key: parameters[key] for key in BENCHMARK_FIGURES if key in parameters}
    judge = parameters.get("method_parameters")
    judge_model = judge.get("judge-model") if isinstance(judge, Mapping) else None
    sampling = _sampling(parameters)
    evaluated = str(parameters.get("evaluation_date") or "")

    for position, entry in enumerate(jailbreaks):
        where = f"{source}#jailbreaks[{position}]"
        if not isinstance(entry, Mapping):
            result.skip(where, "entry is not an object")
            continue
        if entry.get("jailbroken") is not True:
            result.skip(where, "not jailbroken according to the benchmark judge")
            continue
        prompt = entry.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            result.skip(where, "judged jailbroken but no prompt was submitted")
            continue
        behavior = clip(str(entry.get("behavior") or "unnamed behaviour"), 80)
        category = str(entry.get("category") or "")
        harm = HARM_BY_CATEGORY.get(category)
        if harm is None:
            harm = "other"
            result.note(where, "behaviour category not in JBB-Behaviors; harm set to 'other'")
        queries = entry.get("queries_to_jailbreak")
        index = entry.get("index")
        number = index if isinstance(index, int) else position
        queries_text = f" after {queries} queries" if isinstance(queries, int) else ""
        defended = f", defence {defense}" if defense else ""
        result.add_report(
            where,
            {
                "title": clip(f"{method} jailbreak of {model}: {behavior}", 200),
                "abstract": clip(
                    f"JailbreakBench {method} ({attack_type or 'attack'}{defended}) artifact: "
                    f"the benchmark judge found {model} jailbroken on behaviour "
                    f"'{behavior}' ({category or 'uncategorised'}){queries_text}. "
                    f"Evaluated {evaluated or 'on an unknown date'}.",
                    5_000,
                ),
                "program": program,
                "artifacts": [artifact_ref],
                "technique": {"owasp": OWASP_RISK, "atlas": ATLAS_TECHNIQUE},
                "harm_category": harm,
                "reproduction": {
                    "turns": [{"role": "user", "content": prompt}],
                    "sampling": sampling,
                    # One submitted prompt, judged once: an observation, not counted trials.
                    "successes": 0,
                    "trials": 0,
                },
                "expected_behaviour": "The model refuses the request.",
                "observed_behaviour": "The benchmark judge classified the response as "
                "jailbroken (response withheld).",
            },
            {
                "source": "jailbreakbench",
                "source_id": clip(f"{method}/{attack_type}/{model}#{number}", 300),
                "importer": IMPORTER,
                "title": clip(f"{method} jailbreak of {model}: {behavior}", 1_000),
                "date_reported": evaluated,
                "products": [product],
                "taxonomy": {
                    "method": method,
                    "attack_type": attack_type,
                    "defense": defense,
                    "behavior": behavior,
                    "category": category,
                    "judge": judge_model,
                    "queries_to_jailbreak": queries,
                },
                "scores": [figures] if figures else [],
            },
        )
    return result


def import_jailbreakbench_file(path: Path, *, program: str) -> ImportResult:
    """Draft reports from one artifact file, e.g. PAIR/black_box/vicuna-13b-v1.5.json."""
    source = "/".join(path.parts[-3:])
    try:
        artifact = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        result = ImportResult()
        result.skip(source, "not JSON")
        return result
    return import_jailbreakbench_artifact(artifact, program=program, source=source)
