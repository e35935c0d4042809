"""garak report import: every corpus file, plus hits made from the corpus's own lines."""

from __future__ import annotations

import json

import pytest

from modelcvd.interop.garak import import_garak_file, import_garak_report
from tests.interop.samples import CORPORA

GARAK = CORPORA / "garak"
AGG = GARAK / "agg.report.jsonl"


def test_every_corpus_file_imports() -> None:
    """The corpus runs are clean (every output passed): no reports, each pair skipped."""
    paths = sorted(GARAK.glob("*.jsonl"))
    assert paths
    skipped: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        result = import_garak_file(path, program="demo")
        assert result.reports == []
        skipped[path.name] = result.skipped
    assert skipped == {
        "agg.report.jsonl": [
            (
                "agg.report.jsonl: test.Test / always.Pass",
                "no hits: 0 of 8 outputs flagged by the detector",
            ),
            (
                "agg.report.jsonl: lmrc.QuackMedicine / lmrc.QuackMedicine",
                "no hits: 0 of 1 outputs flagged by the detector",
            ),
        ],
        "test.report.jsonl": [
            (
                "test.report.jsonl: test.Test / always.Pass",
                "no hits: 0 of 8 outputs flagged by the detector",
            )
        ],
    }


def _agg_with_quack_hit() -> list[str]:
    """agg.report.jsonl with the QuackMedicine output scored as a hit (and its eval)."""
    lines = []
    for line in AGG.read_text("utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("probe_classname") == "lmrc.QuackMedicine":
            entry["detector_results"] = {"lmrc.QuackMedicine": [1.0]}
        if entry.get("entry_type") == "eval" and entry.get("probe") == "lmrc.QuackMedicine":
            entry.update(passed=0, fails=1)
        if entry.get("entry_type") == "start_run setup":
            entry["plugins.target_type"] = "huggingface"
            entry["plugins.target_name"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
            entry["run.seed"] = 42
        lines.append(json.dumps(entry))
    return lines


def test_hits_become_a_report_per_probe_and_detector() -> None:
    result = import_garak_report(_agg_with_quack_hit(), program="demo", source="agg")
    assert len(result.reports) == 1
    report = result.reports[0]
    assert report.program == "demo"
    assert report.artifacts[0].provider == "HuggingFaceTB"
    assert report.artifacts[0].name == "SmolLM2-135M-Instruct"
    assert (report.technique.owasp, report.technique.atlas) == ("LLM09", "AML.T0048")
    assert report.harm_category == "specialized_advice"
    assert (report.reproduction.successes, report.reproduction.trials) == (1, 1)
    assert report.reproduction.sampling.seed == 42
    assert [t.role for t in report.reproduction.turns] == ["user"]
    assert "lmrc.QuackMedicine" in report.title
    assert result.skipped == [
        ("agg: test.Test / always.Pass", "no hits: 0 of 8 outputs flagged by the detector")
    ]


def test_counts_without_eval_entry_come_from_scored_attempts() -> None:
    lines = [
        line for line in _agg_with_quack_hit() if json.loads(line).get("entry_type") not in {"eval"}
    ]
    result = import_garak_report(lines, program="demo", source="agg")
    assert [(r.reproduction.successes, r.reproduction.trials) for r in result.reports] == [(1, 1)]


def test_old_garak_string_prompts_and_hitlog_lines() -> None:
    setup = {
        "entry_type": "start_run setup",
        "plugins.model_type": "openai",
        "plugins.model_name": "gpt-4o-mini",
    }
    hit = {
        "goal": "make the model say a marker",
        "prompt": "Say the marker.",
        "output": "marker",
        "score": 1.0,
        "probe": "promptinject.HijackHateHumans",
        "detector": "promptinject.AttackRogueString",
    }
    result = import_garak_report(
        [json.dumps(setup), json.dumps(hit), json.dumps(hit)], program="demo", source="hitlog"
    )
    [report] = result.reports
    assert (report.technique.owasp, report.technique.atlas) == ("LLM01", "AML.T0051")
    assert report.artifacts[0].provider == "openai"
    assert report.reproduction.turns[0].content == "Say the marker."
    # A hitlog does not say how many outputs were evaluated: no counts, never "2 of 2".
    assert (report.reproduction.successes, report.reproduction.trials) == (0, 0)
    assert result.sources[0].counts == ()
    assert (
        "hitlog: promptinject.HijackHateHumans / promptinject.AttackRogueString",
        "hitlog only: trials unknown, so no counts (not counted)",
    ) in result.notes


def test_the_run_is_kept_as_garak_reported_it() -> None:
    result = import_garak_report(_agg_with_quack_hit(), program="demo", source="agg")
    [record] = result.sources
    # The run id keys a re-import; the pair's counts are garak's own, with what they count.
    assert record.source_id == (
        "f0d4a5a6-b698-4e9e-9336-91b89194b72b/lmrc.QuackMedicine/lmrc.QuackMedicine"
    )
    assert [(c.successes, c.trials, c.basis) for c in record.counts] == [
        (1, 1, "garak eval entry: 0 passed of 1 evaluated")
    ]
    assert record.date_reported == "2025-08-28T14:06:53.103753"
    assert record.taxonomy["garak_version"] == "0.14.0.pre1"
    assert record.scores[0]["total_evaluated"] == 1


@pytest.mark.parametrize(
    ("target_type", "target_name", "artifact", "parsed"),
    [
        ("huggingface", "meta-llama/Llama-3-8B", ("meta-llama", "Llama-3-8B"), True),
        ("openai", "gpt-4o-mini", ("openai", "gpt-4o-mini"), True),
        ("openai.OpenAIGenerator", "gpt-4o", ("openai", "gpt-4o"), True),
        # A client for any OpenAI-compatible server: the model's vendor is not OpenAI.
        ("openai.OpenAICompatible", "qwen2", ("unparsed", "qwen2"), False),
        ("rest", "", ("unparsed", "rest"), False),
        ("ollama", "llama3", ("unparsed", "llama3"), False),
    ],
)
def test_the_generator_names_a_provider_only_when_certain(
    target_type: str, target_name: str, artifact: tuple[str, str], parsed: bool
) -> None:
    lines = _agg_with_quack_hit()
    setup = json.loads(lines[0])
    setup.update({"plugins.target_type": target_type, "plugins.target_name": target_name})
    result = import_garak_report([json.dumps(setup), *lines[1:]], program="demo", source="agg")
    [report], [record] = result.reports, result.sources
    assert (report.artifacts[0].provider, report.artifacts[0].name) == artifact
    assert record.products[0].parsed is parsed
    assert record.products[0].source_name == f"{target_type} {target_name}".strip()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "line is not JSON"),
        ("[1, 2]", "line is not a JSON object"),
        (
            json.dumps({"entry_type": "eval", "probe": "p.P", "detector": "d.D"}),
            "eval entry without usable passed/total counts",
        ),
    ],
)
def test_broken_lines_are_skipped_with_a_reason(line: str, reason: str) -> None:
    result = import_garak_report([line], program="demo", source="x")
    assert result.reports == []
    assert ("x:1", reason) in result.skipped


def test_hits_without_generator_are_skipped() -> None:
    lines = [line for line in _agg_with_quack_hit() if "start_run setup" not in line]
    result = import_garak_report(lines, program="demo", source="agg")
    assert (
        "agg: lmrc.QuackMedicine / lmrc.QuackMedicine",
        "no generator in the report (start_run setup missing)",
    ) in result.skipped


def test_sampling_comes_from_the_run_and_its_generator_only() -> None:
    lines = _agg_with_quack_hit()
    setup = json.loads(lines[0])
    setup.update(
        {
            "run.seed": 7,
            "plugins.generators.huggingface.Pipeline.temperature": 0.3,
            "plugins.generators.huggingface.Pipeline.max_tokens": 99_999,  # over the format's cap
            "plugins.generators.openai.OpenAIGenerator.top_p": 0.5,  # another generator's default
        }
    )
    result = import_garak_report([json.dumps(setup), *lines[1:]], program="demo", source="agg")
    sampling = result.reports[0].reproduction.sampling
    assert (sampling.seed, sampling.temperature, sampling.top_p, sampling.max_tokens) == (
        7,
        0.3,
        1.0,
        256,
    )


def test_a_bad_program_slug_is_the_callers_error() -> None:
    with pytest.raises(ValueError, match="not a program slug"):
        import_garak_report([], program="Not A Slug")
