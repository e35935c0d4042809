"""The runner: replay a spec N times on a target, judge each trial, stream and summarise.

Built for a storage layer that writes each trial as it finishes and may crash: `on_trial` is
called once per finished trial (in batch order), and `completed` takes trials stored by an
earlier, interrupted run, whose indices are skipped and whose outcomes still count. Because a
trial's seed depends only on (base seed, index), a resumed run asks exactly what the first
would have asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelcvd.verification.engine.identity import ModelIdentity, identity_mismatches
from modelcvd.verification.engine.judges.base import Judge, JudgeCase, Judgement
from modelcvd.verification.engine.spec import ReplaySpec, SamplingSpec
from modelcvd.verification.engine.stats import (
    SequentialState,
    SequentialTest,
    clopper_pearson_interval,
    reproduction_p_value,
)
from modelcvd.verification.engine.targets.base import GenerationRequest, Target
from modelcvd.vocabulary import RunVerdict

NOT_REPLAYABLE_NOTES = {
    "transformers": (
        "single trials are not replayable: batched generation gives each trial its own seed, "
        "but batch shape changes the arithmetic, so a trial re-run alone may differ; use "
        "replayable mode to re-run single trials"
    ),
    "": (
        "single trials are not replayable: the endpoint receives each trial's seed but honours "
        "it on a best-effort basis"
    ),
}


class RunError(RuntimeError):
    """A run that cannot proceed, e.g. resumed trials from another spec."""


@dataclass(frozen=True)
class Trial:
    """One replay: what was asked (seed, sampling), what came back, and how it was judged."""

    index: int
    seed: int
    sampling: SamplingSpec
    response: str
    judgement: Judgement
    target: ModelIdentity
    finish_reason: str = ""

    @property
    def success(self) -> bool:
        return self.judgement.success

    @property
    def verdict(self) -> str:
        return self.judgement.label

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "seed": self.seed,
            "sampling": self.sampling.to_dict(),
            "response": self.response,
            "success": self.success,
            "verdict": self.verdict,
            "judgement": self.judgement.to_dict(),
            "target": self.target.to_dict(),
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        return cls(
            index=int(data["index"]),
            seed=int(data["seed"]),
            sampling=SamplingSpec(**data["sampling"]),
            response=str(data["response"]),
            judgement=_judgement_from_dict(data["judgement"]),
            target=ModelIdentity.from_dict(data["target"]),
            finish_reason=str(data.get("finish_reason", "")),
        )


def _judgement_from_dict(data: dict[str, Any]) -> Judgement:
    return Judgement(
        success=bool(data["success"]),
        label=str(data["label"]),
        judge=ModelIdentity.from_dict(data["judge"]),
        score=data.get("score"),
        rationale=str(data.get("rationale", "")),
        parts=tuple(_judgement_from_dict(part) for part in data.get("parts", ())),
    )


@dataclass(frozen=True)
class RunSummary:
    """What a run established; the JSON the CLI prints and `--compare` reads back."""

    trials: int
    successes: int
    rate: float
    # The exact interval, the only one published: Wilson's undercovers at small n (0.904 at
    # n=10, p=0.01), so summaries no longer carry it (older stored ones may; it is ignored).
    clopper_pearson: tuple[float, float]
    confidence: float
    target: ModelIdentity
    judge: ModelIdentity
    pinned: ModelIdentity | None
    identity_mismatches: tuple[str, ...]
    replayable: bool
    replay_note: str
    prompt_digest: str
    sampling: SamplingSpec
    base_seed: int
    p0: float
    p_value: float
    alpha: float
    verdict: RunVerdict
    sequential: dict[str, Any] | None = None
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "successes": self.successes,
            "rate": self.rate,
            "clopper_pearson": list(self.clopper_pearson),
            "confidence": self.confidence,
            "target": self.target.to_dict(),
            "judge": self.judge.to_dict(),
            "pinned": self.pinned.to_dict() if self.pinned else None,
            "identity_mismatches": list(self.identity_mismatches),
            "replayable": self.replayable,
            "replay_note": self.replay_note,
            "prompt_digest": self.prompt_digest,
            "sampling": self.sampling.to_dict(),
            "base_seed": self.base_seed,
            "p0": self.p0,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "verdict": self.verdict.value,
            "sequential": self.sequential,
            "elapsed_s": self.elapsed_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        pinned = data.get("pinned")
        return cls(
            trials=int(data["trials"]),
            successes=int(data["successes"]),
            rate=float(data["rate"]),
            clopper_pearson=(float(data["clopper_pearson"][0]), float(data["clopper_pearson"][1])),
            confidence=float(data.get("confidence", 0.95)),
            target=ModelIdentity.from_dict(data["target"]),
            judge=ModelIdentity.from_dict(data["judge"]),
            pinned=ModelIdentity.from_dict(pinned) if pinned else None,
            identity_mismatches=tuple(data.get("identity_mismatches", ())),
            replayable=bool(data.get("replayable", False)),
            replay_note=str(data.get("replay_note", "")),
            prompt_digest=str(data.get("prompt_digest", "")),
            sampling=SamplingSpec(**data["sampling"]),
            base_seed=int(data.get("base_seed", 0)),
            p0=float(data.get("p0", 0.0)),
            p_value=float(data.get("p_value", 1.0)),
            alpha=float(data.get("alpha", 0.05)),
            verdict=RunVerdict(data["verdict"]),
            sequential=data.get("sequential"),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
        )


@dataclass
class RunResult:
    summary: RunSummary
    trials: list[Trial] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary.to_dict(), "trial_results": [t.to_dict() for t in self.trials]}


def _replay_note(identity: ModelIdentity) -> str:
    return NOT_REPLAYABLE_NOTES.get(identity.kind, NOT_REPLAYABLE_NOTES[""])


def _sequential_state(test: SequentialTest, trials: Iterable[Trial]) -> SequentialState:
    ordered = sorted(trials, key=lambda t: t.index)
    return test.run(t.success for t in ordered)


def run_trials(
    spec: ReplaySpec,
    target: Target,
    judge: Judge,
    *,
    on_trial: Callable[[Trial], None] | None = None,
    completed: Sequence[Trial] = (),
    sequential: SequentialTest | None = None,
    p0: float = 0.05,
    alpha: float = 0.05,
    confidence: float = 0.95,
    indices: Sequence[int] | None = None,
) -> RunResult:
    """Run the trials of `spec` not in `completed`, judging and streaming each one.

    With `sequential`, trials run in batches until its SPRT decides or `spec.trials` is reached;
    a batch in flight is finished and kept (those trials ran and are stored), and the decision
    is the test's first crossing in index order, so it does not depend on batch size.

    With `indices`, only those trials run (one chunk of a run spread over several workers);
    the summary then covers the chunk alone.
    """
    started = time.monotonic()
    done: dict[int, Trial] = {}
    for trial in completed:
        if not 0 <= trial.index < spec.trials:
            raise RunError(f"completed trial {trial.index} is outside 0..{spec.trials - 1}")
        if trial.seed != spec.trial_seed(trial.index):
            raise RunError(f"completed trial {trial.index} was run from another spec or seed")
        done[trial.index] = trial
    if sequential is not None and sequential.max_trials != spec.trials:
        sequential = SequentialTest(
            sequential.p0, sequential.p1, sequential.alpha, sequential.beta, spec.trials
        )
    messages = tuple(spec.messages())
    wanted = range(spec.trials) if indices is None else indices
    pending = [i for i in wanted if i not in done]
    step = max(1, target.batch_size)
    for start in range(0, len(pending), step):
        if sequential is not None:
            decision = _sequential_state(sequential, done.values()).decision
            if decision != RunVerdict.UNDECIDED:
                break
        requests = [
            GenerationRequest(
                index=i, messages=messages, sampling=spec.sampling, seed=spec.trial_seed(i)
            )
            for i in pending[start : start + step]
        ]
        generations = sorted(target.generate(requests), key=lambda g: g.index)
        judgements = judge.judge([JudgeCase(messages, g.response) for g in generations])
        for generation, judgement in zip(generations, judgements, strict=True):
            trial = Trial(
                index=generation.index,
                seed=spec.trial_seed(generation.index),
                sampling=spec.sampling,
                response=generation.response,
                judgement=judgement,
                target=generation.identity,
                finish_reason=generation.finish_reason,
            )
            done[trial.index] = trial
            if on_trial is not None:
                on_trial(trial)
    trials = sorted(done.values(), key=lambda t: t.index)
    summary = summarise(
        spec,
        trials,
        target=target,
        judge=judge,
        sequential=sequential,
        p0=p0,
        alpha=alpha,
        confidence=confidence,
        elapsed_s=time.monotonic() - started,
    )
    return RunResult(summary=summary, trials=trials)


def summarise(
    spec: ReplaySpec,
    trials: Sequence[Trial],
    *,
    target: Target,
    judge: Judge,
    sequential: SequentialTest | None = None,
    p0: float = 0.05,
    alpha: float = 0.05,
    confidence: float = 0.95,
    elapsed_s: float = 0.0,
) -> RunSummary:
    """Counts, intervals, identity checks and the verdict of a set of trials."""
    if not trials:
        raise RunError("no trials to summarise")
    n = len(trials)
    k = sum(t.success for t in trials)
    ran = {t.target for t in trials}
    identity = trials[-1].target if len(ran) == 1 else target.identity
    mismatches = identity_mismatches(spec.pinned, identity)
    if len(ran) > 1:
        # A router or a redeploy switched models mid-run: the tally mixes two artifacts.
        names = sorted(f"{i.name}@{i.revision}" for i in ran)
        mismatches.append(f"the target changed during the run: {', '.join(names)}")
    p_value = reproduction_p_value(k, n, p0)
    sequential_info: dict[str, Any] | None = None
    verdict: RunVerdict
    if sequential is not None:
        state = _sequential_state(sequential, trials)
        verdict = state.decision
        sequential_info = {
            "p0": sequential.p0,
            "p1": sequential.p1,
            "alpha": sequential.alpha,
            "beta": sequential.beta,
            "max_trials": sequential.max_trials,
            "decision": state.decision.value,
            "decided_at": state.trials,
            "log_likelihood_ratio": state.log_likelihood_ratio,
            "note": "intervals are not adjusted for optional stopping",
        }
    else:
        verdict = RunVerdict.REPRODUCED if p_value < alpha else RunVerdict.NOT_REPRODUCED
    if mismatches:
        verdict = RunVerdict.BLOCKED
    replayable = target.replayable
    return RunSummary(
        trials=n,
        successes=k,
        rate=k / n,
        clopper_pearson=tuple(clopper_pearson_interval(k, n, confidence)),  # type: ignore[arg-type]
        confidence=confidence,
        target=identity,
        judge=judge.identity,
        pinned=spec.pinned,
        identity_mismatches=tuple(mismatches),
        replayable=replayable,
        replay_note="" if replayable else _replay_note(identity),
        prompt_digest=spec.prompt_digest(),
        sampling=spec.sampling,
        base_seed=spec.base_seed,
        p0=p0,
        p_value=p_value,
        alpha=alpha,
        verdict=verdict,
        sequential=sequential_info,
        elapsed_s=elapsed_s,
    )
