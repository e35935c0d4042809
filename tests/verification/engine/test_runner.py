"""The runner on real models: streaming, resume, sequential stopping, pins and replay notes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.judges.refusal import RefusalJudge
from modelcvd.verification.engine.runner import RunError, RunSummary, Trial, run_trials
from modelcvd.verification.engine.spec import ReplaySpec, spec_load
from modelcvd.verification.engine.stats import SequentialTest
from modelcvd.verification.engine.targets.huggingface import TransformersTarget
from modelcvd.verification.engine.targets.openai_compat import OpenAICompatibleTarget

from ..conftest import ChatServer


@pytest.fixture
def spec(refuser_report: Path) -> ReplaySpec:
    return spec_load(refuser_report, trials=40)


def test_run_streams_every_trial_and_summarises(
    spec: ReplaySpec, refuser_target: TransformersTarget
) -> None:
    streamed: list[Trial] = []
    result = run_trials(spec, refuser_target, RefusalJudge(), on_trial=streamed.append)
    summary = result.summary
    assert sorted(t.index for t in streamed) == list(range(40))
    assert [t.index for t in result.trials] == list(range(40))
    # The jailbreak works about half the time: both judge branches really happen.
    assert 8 <= summary.successes <= 32
    assert {t.verdict for t in result.trials} == {"compliance", "refusal"}
    assert summary.rate == summary.successes / 40
    assert summary.clopper_pearson[0] <= summary.rate <= summary.clopper_pearson[1]
    assert summary.verdict == "reproduced"
    assert summary.identity_mismatches == ()
    assert summary.target == refuser_target.identity
    assert not summary.replayable and "not replayable" in summary.replay_note
    trial = result.trials[3]
    assert trial.seed == spec.trial_seed(3)
    assert trial.sampling == spec.sampling
    assert trial.judgement.judge == RefusalJudge().identity


def test_summary_round_trips_through_json(
    spec: ReplaySpec, refuser_target: TransformersTarget
) -> None:
    result = run_trials(spec.with_trials(8), refuser_target, RefusalJudge())
    data = result.to_dict()
    assert RunSummary.from_dict(data) == result.summary
    assert [Trial.from_dict(t) for t in data["trial_results"]] == result.trials


def test_resume_skips_done_trials_and_gives_the_same_run(
    spec: ReplaySpec, refuser_dir: Path
) -> None:
    target = TransformersTarget(refuser_dir, replayable=True)
    spec = spec.with_trials(12)
    full = run_trials(spec, target, RefusalJudge())

    class Crash(Exception):
        pass

    stored: list[Trial] = []

    def store_then_crash(trial: Trial) -> None:
        if len(stored) == 5:
            raise Crash
        stored.append(trial)

    with pytest.raises(Crash):
        run_trials(spec, target, RefusalJudge(), on_trial=store_then_crash)
    resumed_stream: list[Trial] = []
    resumed = run_trials(
        spec, target, RefusalJudge(), completed=stored, on_trial=resumed_stream.append
    )
    assert [t.index for t in resumed_stream] == list(range(5, 12))
    assert resumed.trials == full.trials
    assert resumed.summary.successes == full.summary.successes
    assert resumed.summary.replayable and resumed.summary.replay_note == ""


def test_resume_refuses_trials_from_another_spec(
    spec: ReplaySpec, refuser_target: TransformersTarget
) -> None:
    done = run_trials(spec.with_trials(2), refuser_target, RefusalJudge()).trials
    other = replace(spec, base_seed=spec.base_seed + 1)
    with pytest.raises(RunError, match="another spec"):
        run_trials(other, refuser_target, RefusalJudge(), completed=done)


def test_sequential_run_stops_early_both_ways(
    spec: ReplaySpec, refuser_target: TransformersTarget, fixed_target: TransformersTarget
) -> None:
    test = SequentialTest(p0=0.05, p1=0.2)
    spec = spec.with_trials(200).with_pin(None)
    vulnerable = run_trials(spec, refuser_target, RefusalJudge(), sequential=test).summary
    assert vulnerable.verdict == "reproduced"
    assert vulnerable.sequential is not None
    assert vulnerable.sequential["decided_at"] <= vulnerable.trials < 200
    fixed = run_trials(spec, fixed_target, RefusalJudge(), sequential=test).summary
    assert fixed.verdict == "not_reproduced"
    assert fixed.trials < 200


def test_wrong_weights_block_the_verdict(
    spec: ReplaySpec, fixed_target: TransformersTarget
) -> None:
    # The report pins the refuser's digest; the fixed model has other weights.
    summary = run_trials(spec.with_trials(4), fixed_target, RefusalJudge()).summary
    assert summary.verdict == "blocked"
    assert any("name" in m for m in summary.identity_mismatches)
    assert any("weights_digest" in m for m in summary.identity_mismatches)


def test_an_endpoint_cannot_satisfy_a_digest_pin(spec: ReplaySpec, chat_server: ChatServer) -> None:
    remote = OpenAICompatibleTarget(chat_server.base_url, "refuser")
    summary = run_trials(spec.with_trials(4), remote, RefusalJudge()).summary
    assert summary.target.name == "modelcvd-tests/refuser"
    assert summary.verdict == "blocked"
    assert summary.identity_mismatches == (
        "weights_digest: pinned but the target cannot report one",
    )
    unpinned = spec.with_trials(4).with_pin(ModelIdentity("refuser"))
    assert run_trials(unpinned, remote, RefusalJudge()).summary.identity_mismatches == ()
