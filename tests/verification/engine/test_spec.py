"""Replay specs from reports and spec files; per-trial seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcvd.reports.document import ReportDocument
from modelcvd.verification.engine.spec import (
    SEED_MAX,
    Message,
    ReplaySpec,
    SamplingSpec,
    SpecError,
    replay_turns,
    spec_from_report,
    spec_load,
)

from ..conftest import report_document
from ..tiny_models import JAILBREAK


def test_spec_from_report_carries_conversation_sampling_and_pin() -> None:
    document = report_document(digest="c" * 64, seed=11, max_tokens=20)
    document["reproduction"]["system_prompt"] = "Be helpful."
    spec = spec_from_report(ReportDocument.model_validate(document))
    assert spec.messages() == [Message("system", "Be helpful."), Message("user", JAILBREAK)]
    assert spec.sampling == SamplingSpec(temperature=1.0, top_p=1.0, max_tokens=20)
    assert (spec.trials, spec.base_seed) == (40, 11)
    assert spec.pinned is not None
    assert (spec.pinned.name, spec.pinned.weights_digest) == ("refuser", "c" * 64)


def test_no_pin_when_a_report_names_several_artifacts() -> None:
    document = report_document()
    document["artifacts"].append({"provider": "other", "name": "other-model"})
    assert spec_from_report(ReportDocument.model_validate(document)).pinned is None


@pytest.mark.parametrize("filename", ["report.yaml", "report.json"])
def test_spec_load_reads_yaml_and_json(write_report: Any, filename: str) -> None:
    spec = spec_load(write_report(filename), trials=12)
    assert spec.trials == 12
    assert spec.turns == (Message("user", JAILBREAK),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title: [unclosed", "not valid"),
        ("- a list", "mapping"),
        ("title: too short\n", "abstract"),
        ("!!python/object/apply:os.system ['true']", "not valid"),
    ],
)
def test_spec_load_reports_one_clear_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        spec_load(path)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        spec_load(tmp_path / "absent.yaml")


def test_the_model_must_answer_the_last_turn() -> None:
    with pytest.raises(SpecError, match="last turn"):
        ReplaySpec(turns=(Message("user", "hi"), Message("assistant", "hello")))


def test_a_report_ending_on_the_quoted_answer_replays_up_to_its_last_user_turn() -> None:
    """The reported model answer is the evidence, not part of the prompt (the browser walk
    found a user-then-assistant report accepted by the form and then failing its run)."""
    document = report_document()
    turns = document["reproduction"]["turns"]
    turns += [
        {"role": "assistant", "content": "Sure: step one"},
        {"role": "user", "content": "go on"},
    ]
    turns += [{"role": "assistant", "content": "step two"}]
    spec = spec_from_report(ReportDocument.model_validate(document))
    assert [m.role for m in spec.turns] == ["user", "assistant", "user"]
    assert spec.turns[-1] == Message("user", "go on")
    assert replay_turns([Message("user", "a"), Message("assistant", "b")]) == (
        Message("user", "a"),
    )
    with pytest.raises(SpecError, match="no user turn"):
        replay_turns([Message("assistant", "only the answer")])


@given(st.integers(0, SEED_MAX), st.integers(0, 10**6))
def test_trial_seeds_are_stable_and_in_range(base: int, index: int) -> None:
    spec = ReplaySpec(turns=(Message("user", "hi"),), base_seed=base)
    seed = spec.trial_seed(index)
    assert 0 <= seed <= SEED_MAX
    assert seed == ReplaySpec(turns=(Message("user", "other"),), base_seed=base).trial_seed(index)


def test_trial_seeds_differ_between_trials_and_base_seeds() -> None:
    spec = ReplaySpec(turns=(Message("user", "hi"),), base_seed=1)
    seeds = {spec.trial_seed(i) for i in range(1000)}
    assert len(seeds) == 1000
    assert spec.trial_seed(0) != ReplaySpec(turns=spec.turns, base_seed=2).trial_seed(0)
