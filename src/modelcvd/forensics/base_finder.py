"""Which registered model is DIR derived from? Model cards cannot say: abliteration tools copy
the source's card (and its `base_model`) unchanged, and anyone can write any name there.

Each candidate is scored on what the weights themselves show: the configuration (architecture,
sizes), the tensor names and shapes, and the weights (share of tensors bit-identical, median
cosine between matching matrices). The best candidate is proposed with its scores; tool traces
in DIR are listed as supporting evidence only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from modelcvd.forensics.weights import (
    CONFIG_KEYS,
    ForensicsError,
    read_config,
    read_tensor,
    tensor_index,
    tool_traces,
)

SAMPLE = 24  # matrices compared per candidate, spread over the model


@dataclass(frozen=True)
class Candidate:
    """A registered artifact with a local copy of its weights."""

    key: str
    label: str
    model_dir: Path


@dataclass
class BaseScore:
    candidate: Candidate
    config_match: float
    shape_match: float
    identical_share: float = 0.0
    median_cosine: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        if self.shape_match < 1.0:
            return 0.5 * self.config_match * self.shape_match
        # Bit-identical tensors are the strongest tie to one exact parent: a grandparent shares
        # the shape and most of the direction, but not the bytes.
        return 1.0 + 0.6 * self.identical_share + 0.4 * max(0.0, self.median_cosine)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.candidate.key,
            "label": self.candidate.label,
            "score": round(self.score, 6),
            "config_match": round(self.config_match, 6),
            "shape_match": round(self.shape_match, 6),
            "identical_share": round(self.identical_share, 6),
            "median_cosine": round(self.median_cosine, 6),
            "problems": self.problems,
        }


@dataclass
class BaseProposal:
    proposed: BaseScore | None
    ranking: list[BaseScore]
    evidence: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposed": self.proposed.to_dict() if self.proposed else None,
            "ranking": [s.to_dict() for s in self.ranking],
            "evidence": self.evidence,
        }


def _score(model_dir: Path, candidate: Candidate) -> BaseScore:
    config, other = read_config(model_dir), read_config(candidate.model_dir)
    known = [k for k in CONFIG_KEYS if k in config or k in other]
    config_match = sum(config.get(k) == other.get(k) for k in known) / len(known) if known else 0.0
    index, candidate_index = tensor_index(model_dir), tensor_index(candidate.model_dir)
    names = sorted(index.keys() | candidate_index.keys())
    same = [
        n
        for n in names
        if n in index and n in candidate_index and index[n].shape == candidate_index[n].shape
    ]
    score = BaseScore(candidate, config_match, len(same) / len(names) if names else 0.0)
    if score.shape_match < 1.0:
        score.problems.append(f"{len(names) - len(same)} of {len(names)} tensors do not match")
        return score
    matrices = [n for n in same if len(index[n].shape) == 2]
    step = max(1, len(matrices) // SAMPLE)
    sample = matrices[::step][:SAMPLE]
    identical = 0
    cosines = []
    for name in sample:
        a = read_tensor(index[name], name)
        b = read_tensor(candidate_index[name], name)
        if a.dtype == b.dtype and torch.equal(a, b):
            identical += 1
            cosines.append(1.0)
            continue
        a32, b32 = a.float().flatten(), b.float().flatten()
        denominator = float(a32.norm() * b32.norm())
        cosines.append(float(a32 @ b32) / denominator if denominator > 0 else 0.0)
    score.identical_share = identical / len(sample) if sample else 0.0
    cosines.sort()
    score.median_cosine = cosines[len(cosines) // 2] if cosines else 0.0
    return score


def find_base(model_dir: Path, candidates: Sequence[Candidate]) -> BaseProposal:
    """Rank `candidates` as the base of `model_dir`; propose the best one that fits at all."""
    model_dir = Path(model_dir)
    tensor_index(model_dir)  # fails early, naming the directory, if it has no weights
    ranking: list[BaseScore] = []
    evidence: list[str] = []
    for candidate in candidates:
        if candidate.model_dir.resolve() == model_dir.resolve():
            continue
        try:
            ranking.append(_score(model_dir, candidate))
        except ForensicsError as exc:
            evidence.append(f"{candidate.label}: skipped ({exc})")
    ranking.sort(key=lambda s: s.score, reverse=True)
    proposed = ranking[0] if ranking and ranking[0].score > 1.0 else None
    card = model_dir / "README.md"
    if card.is_file():
        evidence.append(
            "model card present; its base_model is not trusted for the verdict (tools copy it)"
        )
    evidence.extend(f"tool trace: {trace}" for trace in tool_traces(model_dir))
    if proposed is None:
        evidence.append("no candidate has the same tensor names and shapes")
    return BaseProposal(proposed=proposed, ranking=ranking, evidence=evidence)
