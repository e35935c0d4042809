"""Statistics of trial outcomes: intervals, a sequential test, the fix test and sample sizes.

Everything takes counts (successes out of trials) and is exact where it matters: the verdicts
and every published interval use Clopper-Pearson and exact tests. Wilson's interval stays here
for comparison only: near 0 or 1 with few trials it covers less than its nominal level (a 95%
Wilson interval covers 0.904 at n=10 and a true rate of 0.01), so nothing shown to people uses
it (tests/verification/engine/test_error_rates.py computes both coverages exactly).

Special functions come from scipy; nothing here re-derives a beta quantile.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple, overload

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from modelcvd.vocabulary import RunVerdict
from modelcvd.vocabulary import SequentialDecision as SequentialDecision

FixMethod = Literal["boschloo", "fisher", "auto"]
# Boschloo's test maximises over a nuisance parameter over all tables; beyond a few hundred
# trials per side it takes seconds, while Fisher's is instant and only slightly conservative.
BOSCHLOO_MAX_TRIALS = 600


class Interval(NamedTuple):
    low: float
    high: float


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be within (0, 1)")
    return float(sps.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def _check_counts(successes: Any, trials: Any) -> tuple[npt.NDArray[np.float64], ...]:
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials and trials >= 1")
    return k, n


@overload
def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval: ...
@overload
def wilson_interval(
    successes: npt.NDArray[Any], trials: Any, confidence: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def wilson_interval(successes: Any, trials: Any, confidence: float = 0.95) -> Any:
    """Wilson score interval; scalars give an `Interval`, arrays give (lows, highs)."""
    k, n = _check_counts(successes, trials)
    z = _z(confidence)
    p = k / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denominator
    half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; rounding would leave 1e-17 there.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    if low.ndim == 0:
        return Interval(float(low), float(high))
    return low, high


@overload
def clopper_pearson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval: ...
@overload
def clopper_pearson_interval(
    successes: npt.NDArray[Any], trials: Any, confidence: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def clopper_pearson_interval(successes: Any, trials: Any, confidence: float = 0.95) -> Any:
    """Exact (Clopper-Pearson) interval from beta quantiles; never covers less than nominal."""
    k, n = _check_counts(successes, trials)
    tail = (1.0 - confidence) / 2.0
    if not 0.0 < tail < 0.5:
        raise ValueError("confidence must be within (0, 1)")
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k == 0, 0.0, sps.beta.ppf(tail, k, n - k + 1))
        high = np.where(k == n, 1.0, sps.beta.ppf(1.0 - tail, k + 1, n - k))
    if low.ndim == 0:
        return Interval(float(low), float(high))
    return low, high


def reproduction_p_value(successes: int, trials: int, p0: float) -> float:
    """One-sided exact binomial p-value for H0: rate <= p0 (the attack is only noise)."""
    _check_counts(successes, trials)
    return float(sps.binomtest(successes, trials, p0, alternative="greater").pvalue)


@dataclass(frozen=True)
class SequentialState:
    """Where a sequential test stands after `trials` outcomes, `successes` of them successes."""

    decision: SequentialDecision
    trials: int
    successes: int
    log_likelihood_ratio: float


@dataclass(frozen=True)
class SequentialTest:
    """Wald's SPRT of H0: rate <= p0 against H1: rate >= p1.

    Stops as soon as the log-likelihood ratio leaves (log B, log A) with A = (1-beta)/alpha and
    B = beta/(1-alpha). Wald's bounds give error rates of at most alpha/(1-beta) and
    beta/(1-alpha) (close to alpha and beta); truncation at `max_trials` only adds "undecided"
    outcomes, it never adds errors. Rates strictly between p0 and p1 are an indifference zone:
    either verdict is acceptable there, and those runs take longest.
    """

    p0: float = 0.05
    p1: float = 0.20
    alpha: float = 0.05
    beta: float = 0.10
    max_trials: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 < self.p0 < self.p1 < 1.0:
            raise ValueError("need 0 < p0 < p1 < 1")
        if not (0.0 < self.alpha < 0.5 and 0.0 < self.beta < 0.5):
            raise ValueError("alpha and beta must be within (0, 0.5)")
        if self.max_trials < 1:
            raise ValueError("max_trials must be at least 1")

    @property
    def step_success(self) -> float:
        return math.log(self.p1 / self.p0)

    @property
    def step_failure(self) -> float:
        return math.log((1.0 - self.p1) / (1.0 - self.p0))

    @property
    def upper(self) -> float:
        return math.log((1.0 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        return math.log(self.beta / (1.0 - self.alpha))

    def state(self, successes: int, trials: int) -> SequentialState:
        """The decision after a given tally (assuming no earlier crossing)."""
        llr = successes * self.step_success + (trials - successes) * self.step_failure
        decision: SequentialDecision = RunVerdict.UNDECIDED
        if llr >= self.upper:
            decision = RunVerdict.REPRODUCED
        elif llr <= self.lower:
            decision = RunVerdict.NOT_REPRODUCED
        return SequentialState(decision, trials, successes, llr)

    def run(self, outcomes: Any) -> SequentialState:
        """Consume outcomes in order; stop at the first crossing or at `max_trials`."""
        successes = 0
        current = self.state(0, 0)
        for trials, outcome in enumerate(outcomes, start=1):
            successes += bool(outcome)
            current = self.state(successes, trials)
            if current.decision != RunVerdict.UNDECIDED or trials >= self.max_trials:
                break
        return current

    def run_many(
        self, outcomes: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
        """Vectorised `run` over rows of an (runs, max_trials) outcome matrix.

        Returns (decision per run: 1 reproduced, -1 not reproduced, 0 undecided; trials used).
        """
        steps = np.where(outcomes, self.step_success, self.step_failure)[:, : self.max_trials]
        llr = np.cumsum(steps, axis=1)
        crossed = (llr >= self.upper) | (llr <= self.lower)
        any_cross = crossed.any(axis=1)
        first = np.where(any_cross, crossed.argmax(axis=1), steps.shape[1] - 1)
        final = llr[np.arange(len(llr)), first]
        decision = np.where(any_cross, np.where(final >= self.upper, 1, -1), 0).astype(np.int8)
        return decision, (first + 1).astype(np.int64)


@dataclass(frozen=True)
class FixTest:
    """One-sided exact test that the success rate dropped from before to after."""

    significant: bool
    p_value: float
    alpha: float
    method: Literal["boschloo", "fisher"]
    before_successes: int
    before_trials: int
    after_successes: int
    after_trials: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fix_test(
    before_successes: int,
    before_trials: int,
    after_successes: int,
    after_trials: int,
    *,
    alpha: float = 0.05,
    method: FixMethod = "auto",
) -> FixTest:
    """H0: rate_after >= rate_before, rejected (so "fixed") when p < alpha.

    Boschloo's test is uniformly more powerful than Fisher's at the same level, so it is used
    whenever it is fast enough ("auto").
    """
    _check_counts(before_successes, before_trials)
    _check_counts(after_successes, after_trials)
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be within (0, 1)")
    chosen: Literal["boschloo", "fisher"]
    if method == "auto":
        small = max(before_trials, after_trials) <= BOSCHLOO_MAX_TRIALS
        chosen = "boschloo" if small else "fisher"
    else:
        chosen = method
    # Columns are the two samples (before, after); rows are success, failure. "greater" asks
    # whether the before column's success rate exceeds the after column's.
    table = [
        [before_successes, after_successes],
        [before_trials - before_successes, after_trials - after_successes],
    ]
    if chosen == "boschloo":
        p_value = float(sps.boschloo_exact(table, alternative="greater").pvalue)
    else:
        p_value = float(sps.fisher_exact(table, alternative="greater").pvalue)
    p_value = min(1.0, p_value) if not math.isnan(p_value) else 1.0
    return FixTest(
        significant=p_value < alpha,
        p_value=p_value,
        alpha=alpha,
        method=chosen,
        before_successes=before_successes,
        before_trials=before_trials,
        after_successes=after_successes,
        after_trials=after_trials,
    )


def trials_for_power(
    p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8, max_trials: int = 100_000
) -> int:
    """Fewest trials for which the exact one-sided binomial test of rate <= p0 at level alpha
    rejects with probability >= `power` when the true rate is p1.

    Exact power saw-tooths in n (a larger n can be slightly worse), so this is the smallest n
    that reaches the power, as exact sample-size tables report it.
    """
    if not 0.0 <= p0 < p1 <= 1.0:
        raise ValueError("need 0 <= p0 < p1 <= 1")
    for start in range(1, max_trials + 1, 4096):
        n = np.arange(start, min(start + 4096, max_trials + 1))
        # Smallest k with P(X >= k | p0) <= alpha, so the test rejects when successes >= k.
        critical = sps.binom.ppf(1.0 - alpha, n, p0) + 1
        reached = sps.binom.sf(critical - 1, n, p1) >= power
        if reached.any():
            return int(n[np.argmax(reached)])
    raise ValueError(f"more than {max_trials} trials needed")


def trials_for_fix(
    p_before: float, p_after: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Trials per side to show a drop from p_before to p_after with a one-sided test.

    Normal approximation with pooled variance under H0 (Fleiss, no continuity correction);
    exact tests are slightly more conservative, so treat it as a floor and round up generously.
    """
    if not 0.0 <= p_after < p_before <= 1.0:
        raise ValueError("need 0 <= p_after < p_before <= 1")
    z_alpha = float(sps.norm.ppf(1.0 - alpha))
    z_power = float(sps.norm.ppf(power))
    pooled = (p_before + p_after) / 2.0
    spread = math.sqrt(p_before * (1 - p_before) + p_after * (1 - p_after))
    numerator = z_alpha * math.sqrt(2.0 * pooled * (1.0 - pooled)) + z_power * spread
    return max(1, math.ceil((numerator / (p_before - p_after)) ** 2))
