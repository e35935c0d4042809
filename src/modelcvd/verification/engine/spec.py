"""The replay spec: exactly what to send, how to sample, how many trials, from which seed.

Built from a report (`ReportDocument.reproduction`) or from a YAML/JSON file in the report
format. Per-trial seeds are derived from the base seed by hashing, so trial `i` gets the same
seed whether it runs first, last, alone or after a resume.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from modelcvd.reports.document import ReportDocument
from modelcvd.verification.engine.identity import ModelIdentity

Role = Literal["system", "user", "assistant"]
SEED_MAX = 2**63 - 1
DEFAULT_BASE_SEED = 0


class SpecError(ValueError):
    """A spec file or report that cannot be turned into a replay."""


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class SamplingSpec:
    """Sampling settings sent with every trial; `seed` is per trial and set by the runner."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise SpecError("temperature must be within [0, 2]")
        if not 0.0 < self.top_p <= 1.0:
            raise SpecError("top_p must be within (0, 1]")
        if self.max_tokens < 1:
            raise SpecError("max_tokens must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReplaySpec:
    """One reported attack, ready to replay `trials` times."""

    turns: tuple[Message, ...]
    system_prompt: str = ""
    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    trials: int = 100
    base_seed: int = DEFAULT_BASE_SEED
    pinned: ModelIdentity | None = None
    # The instance's digest key: with it the prompt digest is an HMAC, so a stored summary
    # cannot confirm a guessed conversation. Empty only outside an instance (the CLI).
    digest_key: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.turns:
            raise SpecError("a replay needs at least one turn")
        if self.turns[-1].role != "user":
            raise SpecError("the last turn must be the user's: the model answers it")
        if self.trials < 1:
            raise SpecError("trials must be at least 1")
        if not 0 <= self.base_seed <= SEED_MAX:
            raise SpecError("base_seed must be within [0, 2**63 - 1]")

    def messages(self) -> list[Message]:
        """The conversation as chat messages, system prompt first when there is one."""
        head = [Message("system", self.system_prompt)] if self.system_prompt else []
        return [*head, *self.turns]

    def trial_seed(self, index: int) -> int:
        """The seed of trial `index`: a hash of (base seed, index), stable across runs."""
        material = f"modelcvd-trial:{self.base_seed}:{index}".encode()
        return int.from_bytes(hashlib.sha256(material).digest()[:8], "big") & SEED_MAX

    def with_trials(self, trials: int) -> ReplaySpec:
        return replace(self, trials=trials)

    def with_pin(self, pinned: ModelIdentity | None) -> ReplaySpec:
        return replace(self, pinned=pinned)

    def prompt_digest(self) -> str:
        """A digest of the conversation sent, so runs can be compared without holding it:
        HMAC-SHA256 under the instance's digest key (plain sha256 only without one, as in a
        local CLI run whose reader holds the conversation anyway)."""
        canonical = json.dumps(
            [asdict(m) for m in self.messages()], sort_keys=True, ensure_ascii=False
        ).encode()
        if self.digest_key:
            return hmac.new(self.digest_key, canonical, hashlib.sha256).hexdigest()
        return hashlib.sha256(canonical).hexdigest()


def replay_turns(turns: Sequence[Message]) -> tuple[Message, ...]:
    """The turns a replay sends: the report's conversation up to its last user turn. A report
    often ends with the model's answer, quoted as evidence; that answer is what the replay
    looks for, not something to send back to the model."""
    kept = list(turns)
    while kept and kept[-1].role == "assistant":
        kept.pop()
    if not kept:
        raise SpecError("the report has no user turn to replay")
    return tuple(kept)


def spec_from_report(report: ReportDocument, *, trials: int | None = None) -> ReplaySpec:
    """The replay of a report. The sole artifact, if there is exactly one, becomes the pin."""
    reproduction = report.reproduction
    sampling = reproduction.sampling
    pinned = None
    if len(report.artifacts) == 1:
        artifact = report.artifacts[0]
        pinned = ModelIdentity(
            name=artifact.name,
            revision=artifact.revision,
            weights_digest=artifact.weights_digest,
        )
    return ReplaySpec(
        system_prompt=reproduction.system_prompt,
        turns=replay_turns([Message(turn.role, turn.content) for turn in reproduction.turns]),
        sampling=SamplingSpec(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
        ),
        trials=trials if trials is not None else reproduction.trials,
        base_seed=sampling.seed if sampling.seed is not None else DEFAULT_BASE_SEED,
        pinned=pinned,
    )


def spec_load(path: Path, *, trials: int | None = None) -> ReplaySpec:
    """Read a report-format spec from a .yaml/.yml/.json file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        # safe_load: a spec file comes from a reporter and must not construct Python objects.
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path} must hold a report document (a mapping)")
    try:
        report = ReportDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{path}: {where}: {first['msg']}") from exc
    return spec_from_report(report, trials=trials)
