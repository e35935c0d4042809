"""The fix verdict from real before/after runs, and what blocks it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.judges.refusal import RefusalJudge, RefusalRule
from modelcvd.verification.engine.runner import RunSummary, run_trials
from modelcvd.verification.engine.spec import SamplingSpec, spec_load
from modelcvd.verification.engine.targets.huggingface import TransformersTarget
from modelcvd.verification.engine.verdict import fix_verdict


@pytest.fixture(scope="module")
def runs(
    refuser_report: Path, refuser_target: TransformersTarget, fixed_target: TransformersTarget
) -> tuple[RunSummary, RunSummary]:
    spec = spec_load(refuser_report, trials=40)
    before = run_trials(spec, refuser_target, RefusalJudge()).summary
    # The fix is a new artifact: its run pins the new version, not the reported one.
    after_spec = spec.with_pin(ModelIdentity("refuser-fixed"))
    after = run_trials(after_spec, fixed_target, RefusalJudge()).summary
    return before, after


def test_the_fixed_model_is_fixed(runs: tuple[RunSummary, RunSummary]) -> None:
    before, after = runs
    # 0/40 after: the exact 95% upper bound is 0.088, below an acceptable rate of 0.1.
    verdict = fix_verdict(before, after, acceptable_rate=0.1)
    assert verdict.verdict == "fixed"
    # At the default acceptable rate (0.05) 40 clean trials are not enough to claim it.
    strict = fix_verdict(before, after)
    assert strict.verdict == "reduced"
    assert "not below the acceptable rate 0.05" in strict.line()
    assert verdict.test.p_value < 0.05
    assert verdict.test.method == "boschloo"
    assert verdict.line().startswith("fixed: ")


def test_no_change_is_not_fixed(runs: tuple[RunSummary, RunSummary]) -> None:
    before, after = runs
    relabelled = replace(before, target=after.target)
    assert fix_verdict(before, relabelled).verdict in ("not_fixed", "inconclusive")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"identity_mismatches": ("name: pinned 'x', ran 'y'",)}, "after: name"),
        ({"prompt_digest": "0" * 64}, "different conversations"),
        ({"sampling": SamplingSpec(temperature=0.0)}, "different sampling"),
        ({"judge": RefusalJudge([RefusalRule("en", "no")]).identity}, "different judges"),
    ],
)
def test_incomparable_runs_block_the_verdict(
    runs: tuple[RunSummary, RunSummary], change: dict[str, object], reason: str
) -> None:
    before, after = runs
    verdict = fix_verdict(before, replace(after, **change))  # type: ignore[arg-type]
    assert verdict.verdict == "blocked"
    assert any(reason in r for r in verdict.reasons)


def test_the_same_artifact_cannot_be_its_own_fix(runs: tuple[RunSummary, RunSummary]) -> None:
    before, after = runs
    same = replace(after, target=before.target)
    verdict = fix_verdict(before, same)
    assert verdict.verdict == "blocked"
    assert "same artifact" in verdict.reasons[0]
