"""JailbreakBench import over every corpus artifact.

The artifacts hold real jailbreak prompts and harmful responses: assertions are on counts and
structure only, and never compare or print prompt text (a failing `==` on a prompt would show
it in the test output).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from modelcvd.interop.jailbreakbench import (
    import_jailbreakbench_artifact,
    import_jailbreakbench_file,
)
from tests.interop.samples import CORPORA

JBB = CORPORA / "jailbreakbench"
EXPECTED = {
    # file: (reports, skipped) - reports = entries judged jailbroken that carry a prompt
    "PAIR/black_box/gpt-3.5-turbo-1106.json": (71, 29),
    "PAIR/black_box/llama-2-7b-chat-hf.json": (0, 100),
    "test-artifact/black_box/vicuna-13b-v1.5.json": (1, 0),
}


def _artifact_paths() -> list[Path]:
    return sorted(p for p in JBB.glob("*/*/*.json"))


def test_every_corpus_artifact_imports() -> None:
    counts = {}
    for path in _artifact_paths():
        result = import_jailbreakbench_file(path, program="demo")
        counts["/".join(path.parts[-3:])] = (len(result.reports), len(result.skipped))
        assert {reason for _, reason in result.skipped} <= {
            "not jailbroken according to the benchmark judge",
            "judged jailbroken but no prompt was submitted",
        }
    assert counts == EXPECTED


def test_reports_are_structured_and_leak_nothing() -> None:
    path = JBB / "PAIR/black_box/gpt-3.5-turbo-1106.json"
    entries = json.loads(path.read_text("utf-8"))["jailbreaks"]
    secrets = [
        text
        for entry in entries
        for text in (entry.get("prompt"), entry.get("response"), entry.get("goal"))
        if isinstance(text, str) and len(text) > 20
    ]
    result = import_jailbreakbench_file(path, program="demo")
    for report in result.reports:
        assert report.technique.owasp == "LLM01"
        assert report.technique.atlas == "AML.T0054"
        assert report.artifacts[0].provider == "openai"
        # One prompt judged once is an observation, not a 1-of-1 rate: not counted.
        assert (report.reproduction.successes, report.reproduction.trials) == (0, 0)
        assert report.reproduction.sampling.temperature == 0.0
        assert len(report.reproduction.turns) == 1
        assert report.reproduction.turns[0].role == "user"
        public = " ".join((report.title, report.abstract, report.observed_behaviour, report.impact))
        assert not any(secret in public for secret in secrets)
    # Every imported prompt is one of the artifact's prompts (by membership, never printed).
    # Payload text is kept verbatim (whitespace included) so a replay sends exactly the prompt.
    prompts = {entry["prompt"] for entry in entries if isinstance(entry["prompt"], str)}
    assert all(report.reproduction.turns[0].content in prompts for report in result.reports)
    assert not any(secret in reason for _, reason in result.skipped for secret in secrets)
    assert all(record.counts == () for record in result.sources)
    ids = [record.source_id for record in result.sources]
    assert len(set(ids)) == 71
    assert ids[0] == "PAIR/black_box/gpt-3.5-turbo-1106#0"
    assert result.sources[0].date_reported == "2024-03-06"
    assert result.sources[0].scores[0]["attack_success_rate"] == 0.71
    harms = Counter(report.harm_category for report in result.reports)
    assert sum(harms.values()) == 71
    assert "other" in harms  # Disinformation and Government decision-making


def test_known_models_map_to_their_repositories() -> None:
    result = import_jailbreakbench_file(
        JBB / "test-artifact/black_box/vicuna-13b-v1.5.json", program="demo"
    )
    [report] = result.reports
    assert (report.artifacts[0].provider, report.artifacts[0].name) == ("lmsys", "vicuna-13b-v1.5")
    assert report.reproduction.sampling.max_tokens == 150


@pytest.mark.parametrize(
    ("artifact", "reason"),
    [
        ([], "not a JSON object"),
        ({"parameters": {}}, "not a JailbreakBench artifact (parameters/jailbreaks missing)"),
        ({"parameters": {}, "jailbreaks": []}, "artifact names no target model"),
    ],
)
def test_malformed_artifacts_are_skipped(artifact: object, reason: str) -> None:
    result = import_jailbreakbench_artifact(artifact, program="demo", source="a.json")
    assert result.skipped == [("a.json", reason)]


def test_invalid_entry_skip_reason_does_not_quote_the_prompt() -> None:
    oversized = "x" * 100_001  # over the report format's turn limit
    artifact = {
        "parameters": {"model": "mystery-model", "method": "TEST"},
        "jailbreaks": [{"jailbroken": True, "prompt": oversized, "behavior": "b", "category": "?"}],
    }
    result = import_jailbreakbench_artifact(artifact, program="demo", source="a.json")
    assert result.reports == []
    [(where, reason)] = result.skipped
    assert where == "a.json#jailbreaks[0]"
    assert reason.startswith("not a valid report: reproduction.turns.0.content")
    assert "xxxxxxxx" not in reason
    assert ("a.json", "model 'mystery-model' not in the known list: provider 'unparsed'") in (
        result.notes
    )
