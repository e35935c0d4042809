"""Weight forensics: how was DERIVED made from BASE? Streams both checkpoints tensor by tensor.

For every pair of tensors with the same name and shape: is it bit-identical; if not, how large
is the difference relative to the base, how similar are the two (cosine), and, for matrices,
the rank structure of the difference (top singular values, share of its energy in the top one
and top three directions) and its top direction in the residual stream.

What each way of making a derivative leaves behind:

* directional ablation ("abliteration"), W' = (I - lambda_l r r^T) W on the matrices that write
  to the residual stream (attention output, MLP down projection, each expert's down projection,
  sometimes the embeddings): differences of rank 1 (up to 3 in norm-preserving variants) whose
  top direction is the same r in every layer, or drifts smoothly when each layer has its own,
  confined to a band of layers, with every other tensor bit-identical. lambda_l is recovered
  exactly as ||dW|| / ||r^T W||, so the per-layer strength (flat, or a tent over a band) is
  reported too;
* fine-tuning: diffuse, high-rank differences across many kinds of tensors;
* quantization: noise-like differences everywhere, with the derived values on a quantization
  grid (a few hundred levels per row or group);
* an unrelated model of the same shape: weights uncorrelated with the base's.

Memory: each tensor is read on its own with safetensors `safe_open` (the file is opened and
closed around each read, so mapped pages are released), so at most one base matrix, one derived
matrix and their difference are in memory at once, whatever the size of the model. Fused expert
tensors (3-D) are read one expert at a time.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import safe_open

Verdict = Literal["abliterated", "fine-tuned", "quantized", "identical", "unrelated"]
Kind = Literal["writer", "embedding", "other"]

# Modules whose output is added to the residual stream (directional ablation targets).
WRITER = re.compile(
    r"(?:^|\.)(?:o_proj|down_proj|out_proj|c_proj|fc2|w2|wo|dense_4h_to_h|"
    r"self_attn\.dense|attention\.dense|attention\.output\.dense)\.(?:weight|bias)$"
)
EMBEDDING = re.compile(
    r"(?:^|\.)(?:embed_tokens|wte|word_embeddings|tok_embeddings|lm_head|embed_out)\.weight$"
)
LAYER = re.compile(r"\.(?:layers|h|blocks|layer|decoder\.layers)\.(\d+)\.")
CONFIG_KEYS = (
    "model_type",
    "architectures",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
)

# Thresholds of the verdict; the tests hold them against real derivatives across many seeds.
LOW_RANK_ENERGY = 0.99  # share of a difference's energy in its top 3 directions
CONSISTENT = 0.9  # mean |cos| of each changed matrix's top direction with the shared one
SMOOTH_DRIFT = 0.8  # median |cos| between the directions of adjacent layers
QUANTIZED_GRID_SHARE = 0.9  # share of changed matrices whose values lie on a grid
QUANTIZED_MAX_CHANGE = 0.2  # quantization error relative to the weights
UNRELATED_COSINE = 0.5  # median cosine between base and derived matrices
GRID_TOLERANCE = 2e-3  # distance to the nearest level, in units of the step
EXACT_SVD_MAX = 256  # larger differences use randomized low-rank SVD
GRID_CHUNK = 1 << 20  # elements per chunk of the grid test
TOP_K = 5


class ForensicsError(ValueError):
    """A directory that cannot be compared (missing, no safetensors, unreadable)."""


@dataclass(frozen=True)
class TensorInfo:
    file: Path
    shape: tuple[int, ...]
    dtype: str


@dataclass
class MatrixScore:
    """One tensor pair (or one expert of a fused tensor): what changed and how."""

    name: str
    kind: Kind
    layer: int | None
    shape: tuple[int, ...]
    dtype: str
    changed: bool
    base_dtype: str = ""
    relative_change: float = 0.0
    cosine: float = 1.0
    top_singular_values: list[float] = field(default_factory=list)
    energy_top1: float | None = None
    energy_top3: float | None = None
    on_grid: bool = False
    strength: float | None = None
    direction_cosine: float | None = None
    direction: torch.Tensor | None = None  # unit vector in the residual stream, if any

    def to_dict(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(float(value), 6)

        return {
            "name": self.name,
            "kind": self.kind,
            "layer": self.layer,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "base_dtype": self.base_dtype,
            "changed": self.changed,
            "relative_change": r(self.relative_change),
            "cosine": r(self.cosine),
            "top_singular_values": [r(s) for s in self.top_singular_values],
            "energy_top1": r(self.energy_top1),
            "energy_top3": r(self.energy_top3),
            "on_grid": self.on_grid,
            "strength": r(self.strength),
            "direction_cosine": r(self.direction_cosine),
        }


@dataclass
class Comparison:
    """The answer of `compare_dirs`: a verdict, the scores behind it and the evidence."""

    verdict: Verdict
    layers: list[MatrixScore]
    evidence: list[str]
    direction_consistency: float | None = None
    adjacent_agreement: float | None = None
    direction: torch.Tensor | None = None
    band: tuple[int, int] | None = None
    band_contiguous: bool = False
    strength_shape: str = ""
    layer_strengths: dict[int, float] = field(default_factory=dict)
    config_differences: dict[str, list[Any]] = field(default_factory=dict)
    hidden_size: int = 0
    tensors: int = 0
    changed: int = 0
    traces: list[str] = field(default_factory=list)

    def layer_directions(self) -> dict[int, torch.Tensor]:
        """Per layer, the top direction of its most changed residual writer."""
        best: dict[int, MatrixScore] = {}
        for score in self.layers:
            if score.layer is None or score.direction is None or score.kind != "writer":
                continue
            top = score.top_singular_values[0] if score.top_singular_values else 0.0
            held = best.get(score.layer)
            if held is None or top > held.top_singular_values[0]:
                best[score.layer] = score
        return {layer: s.direction for layer, s in sorted(best.items()) if s.direction is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "direction_consistency": None
            if self.direction_consistency is None
            else round(self.direction_consistency, 6),
            "adjacent_agreement": None
            if self.adjacent_agreement is None
            else round(self.adjacent_agreement, 6),
            "direction": None
            if self.direction is None
            else [round(float(x), 6) for x in self.direction],
            "band": list(self.band) if self.band else None,
            "band_contiguous": self.band_contiguous,
            "strength_shape": self.strength_shape,
            "layer_strengths": {str(k): round(v, 6) for k, v in self.layer_strengths.items()},
            "hidden_size": self.hidden_size,
            "tensors": self.tensors,
            "changed": self.changed,
            "config_differences": self.config_differences,
            "evidence": self.evidence,
            "traces": self.traces,
            "layers": [score.to_dict() for score in self.layers],
        }


def read_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ForensicsError(f"{path} is not readable JSON") from exc
    return data if isinstance(data, dict) else {}


def tensor_index(model_dir: Path) -> dict[str, TensorInfo]:
    """Every tensor's file, shape and dtype, from the safetensors headers only."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ForensicsError(f"model directory not found: {model_dir}")
    shards = sorted(model_dir.glob("*.safetensors"))
    if not shards:
        raise ForensicsError(f"{model_dir} has no .safetensors files")
    index: dict[str, TensorInfo] = {}
    for shard in shards:
        try:
            with safe_open(str(shard), framework="pt") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                    piece = handle.get_slice(name)
                    index[name] = TensorInfo(shard, tuple(piece.get_shape()), piece.get_dtype())
        except Exception as exc:  # safetensors raises its own error types
            raise ForensicsError(f"cannot read {shard.name}: {exc}") from exc
    return index


def read_tensor(info: TensorInfo, name: str, expert: int | None = None) -> torch.Tensor:
    # Open and close around each read: the mapping (and its resident pages) goes with it.
    with safe_open(str(info.file), framework="pt") as handle:
        if expert is None:
            return handle.get_tensor(name)
        return handle.get_slice(name)[expert]


def hidden_size_of(config: dict[str, Any], index: dict[str, TensorInfo]) -> int:
    for key in ("hidden_size", "n_embd", "d_model", "dim"):
        value = config.get(key) or (config.get("text_config") or {}).get(key)
        if isinstance(value, int) and value > 0:
            return value
    dims = Counter(d for info in index.values() if len(info.shape) == 2 for d in info.shape)
    return dims.most_common(1)[0][0] if dims else 0


def kind_of(name: str) -> Kind:
    name = re.sub(r"\[\d+\]$", "", name)  # one expert of a fused tensor
    if WRITER.search(name):
        return "writer"
    if EMBEDDING.search(name):
        return "embedding"
    return "other"


def layer_of(name: str) -> int | None:
    match = LAYER.search("." + name)
    return int(match.group(1)) if match else None


def on_grid(values: torch.Tensor) -> bool:
    """Whether a matrix's values lie on a quantization grid: symmetric (absmax) or asymmetric
    (min-max) levels, 4 or 8 bits, per tensor, per row or per group of 32 to 128 columns.

    Works through the rows in chunks (temporaries stay small whatever the matrix), and gives
    up on a layout at its first chunk off the grid, which is where ordinary weights stop."""
    rows, cols = values.shape
    groups = sorted({g for g in (cols, 128, 64, 32) if g <= cols and cols % g == 0}, reverse=True)
    low, high = float(values.min()), float(values.max())
    amax = max(abs(low), abs(high))
    chunk = max(1, GRID_CHUNK // cols)
    layouts: list[int | None] = [None, *groups]  # None: one scale for the whole tensor
    probe = max(1, 4096 // cols)
    for group in layouts:
        for symmetric, levels in ((True, 127.0), (True, 7.0), (False, 255.0), (False, 15.0)):
            # A few rows first: ordinary weights fail there, at almost no cost.
            head = _levels(values[:probe], group, symmetric, levels, low, high, amax)
            if _near_integer_share(head) < 0.999:
                continue
            if all(
                _near_integer_share(
                    _levels(values[i : i + chunk], group, symmetric, levels, low, high, amax)
                )
                >= 0.999
                for i in range(0, rows, chunk)
            ):
                return True
    return False


def _levels(
    block: torch.Tensor,
    group: int | None,
    symmetric: bool,
    levels: float,
    low: float,
    high: float,
    amax: float,
) -> torch.Tensor:
    """`block` divided by its quantization step (and shifted by its zero point)."""
    if group is None:
        step = (amax / levels) if symmetric else (high - low) / levels
        step = step if step > 0 else 1.0
        return block / step if symmetric else (block - low) / step
    blocks = block.reshape(-1, group)
    if symmetric:
        scale = blocks.abs().amax(dim=1, keepdim=True) / levels
        return blocks / torch.where(scale > 0, scale, torch.ones_like(scale))
    lowest = blocks.amin(dim=1, keepdim=True)
    scale = (blocks.amax(dim=1, keepdim=True) - lowest) / levels
    return (blocks - lowest) / torch.where(scale > 0, scale, torch.ones_like(scale))


def _near_integer_share(q: torch.Tensor) -> float:
    return float(((q - q.round()).abs() <= GRID_TOLERANCE).float().mean())


def _top_svd(delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if min(delta.shape) <= EXACT_SVD_MAX:
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        return u[:, :TOP_K], s[:TOP_K], vh[:TOP_K]
    # Randomized range finder (Halko et al.): cost linear in the matrix size.
    q = min(TOP_K + 10, min(delta.shape))
    u, s, v = torch.svd_lowrank(delta, q=q, niter=2)
    return u[:, :TOP_K], s[:TOP_K], v[:, :TOP_K].T


def _unit(vector: torch.Tensor) -> torch.Tensor:
    vector = vector / vector.norm().clamp(min=1e-30)
    # Singular vectors have no sign; fix one so printed directions compare at a glance.
    return -vector if vector[vector.abs().argmax()] < 0 else vector


def score_pair(
    name: str, base: torch.Tensor, derived: torch.Tensor, *, hidden: int, layer: int | None
) -> MatrixScore:
    """Score one tensor pair of the same shape."""
    kind = kind_of(name)
    score = MatrixScore(
        name=name,
        kind=kind,
        layer=layer,
        shape=tuple(base.shape),
        dtype=str(derived.dtype).removeprefix("torch."),
        base_dtype=str(base.dtype).removeprefix("torch."),
        changed=not (base.dtype == derived.dtype and torch.equal(base, derived)),
    )
    if not score.changed:
        return score
    b = base.to(torch.float32)
    d = derived.to(torch.float32)
    delta = d - b
    base_norm = float(b.norm())
    delta_norm = float(delta.norm())
    score.relative_change = delta_norm / base_norm if base_norm > 0 else math.inf
    denominator = base_norm * float(d.norm())
    score.cosine = (
        float(torch.dot(b.flatten(), d.flatten())) / denominator if denominator > 0 else 0.0
    )
    if delta.ndim != 2 or delta_norm == 0.0:
        return score
    score.on_grid = on_grid(d)
    u, s, vh = _top_svd(delta)
    energy = delta_norm**2
    score.top_singular_values = [float(x) for x in s]
    score.energy_top1 = min(1.0, float(s[0] ** 2) / energy)
    score.energy_top3 = min(1.0, float((s[:3] ** 2).sum()) / energy)
    rows, cols = delta.shape
    # The residual-stream side: a writer's output (rows), an embedding's columns.
    if rows == hidden and (kind == "writer" or cols != hidden):
        direction = _unit(u[:, 0])
        projected = float((direction @ b).norm())
    elif cols == hidden:
        direction = _unit(vh[0])
        projected = float((b @ direction).norm())
    else:
        return score
    score.direction = direction
    # For W' = (I - lambda r r^T) W the difference is -lambda r (r^T W): lambda comes back as
    # ||dW|| / ||r^T W|| (and likewise for the embeddings' right-hand projection).
    score.strength = delta_norm / projected if projected > 0 else None
    return score


def _pairs(
    base: dict[str, TensorInfo], derived: dict[str, TensorInfo]
) -> Iterator[tuple[str, TensorInfo, TensorInfo, int | None]]:
    for name in sorted(base.keys() & derived.keys()):
        b, d = base[name], derived[name]
        if b.shape != d.shape:
            continue
        if len(b.shape) == 3:  # fused experts: one matrix per expert
            for expert in range(b.shape[0]):
                yield name, b, d, expert
        else:
            yield name, b, d, None


def _principal(directions: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
    stacked = torch.stack(directions)
    scatter = (stacked.T * torch.tensor(weights)) @ stacked
    _, vectors = torch.linalg.eigh(scatter)
    return _unit(vectors[:, -1])


def _strength_shape(strengths: list[float]) -> str:
    """`flat`, `tent` (rises to a peak inside the band, then falls) or `irregular`."""
    if len(strengths) < 2:
        return "single" if strengths else ""
    top, low = max(strengths), min(strengths)
    if top <= 0:
        return ""
    if (top - low) / top <= 0.05:
        return "flat"
    peak = strengths.index(top)
    rising = all(a <= b * 1.02 for a, b in itertools.pairwise(strengths[: peak + 1]))
    falling = all(a * 1.02 >= b for a, b in itertools.pairwise(strengths[peak:]))
    inside = 0 < peak < len(strengths) - 1
    return "tent" if rising and falling and inside else "irregular"


def compare_dirs(base_dir: Path, derived_dir: Path) -> Comparison:
    """Compare two local model directories of safetensors weights (see the module docstring)."""
    base_dir, derived_dir = Path(base_dir), Path(derived_dir)
    base_index, derived_index = tensor_index(base_dir), tensor_index(derived_dir)
    base_config, derived_config = read_config(base_dir), read_config(derived_dir)
    hidden = hidden_size_of(derived_config or base_config, derived_index)
    evidence: list[str] = []
    config_differences = {
        key: [base_config.get(key), derived_config.get(key)]
        for key in CONFIG_KEYS
        if base_config.get(key) != derived_config.get(key)
    }
    if config_differences:
        evidence.append(f"configurations differ in {', '.join(sorted(config_differences))}")
    only_base = sorted(base_index.keys() - derived_index.keys())
    only_derived = sorted(derived_index.keys() - base_index.keys())
    reshaped = sorted(
        n
        for n in base_index.keys() & derived_index.keys()
        if base_index[n].shape != derived_index[n].shape
    )
    if only_base or only_derived or reshaped:
        evidence.append(
            f"tensors only in base: {len(only_base)}, only in derived: {len(only_derived)}, "
            f"different shapes: {len(reshaped)}"
        )
    scores: list[MatrixScore] = []
    for name, b_info, d_info, expert in _pairs(base_index, derived_index):
        label = name if expert is None else f"{name}[{expert}]"
        score = score_pair(
            label,
            read_tensor(b_info, name, expert),
            read_tensor(d_info, name, expert),
            hidden=hidden,
            layer=layer_of(name),
        )
        # Keep only what the verdict needs: the tensors go out of scope here.
        scores.append(score)
    result = Comparison(
        verdict="identical",
        layers=scores,
        evidence=evidence,
        config_differences=config_differences,
        hidden_size=hidden,
        tensors=len(scores),
        changed=sum(s.changed for s in scores),
        traces=tool_traces(derived_dir),
    )
    _decide(result, compared_all=not (only_base or only_derived or reshaped))
    return result


def _decide(result: Comparison, *, compared_all: bool) -> None:
    scores = result.layers
    evidence = result.evidence
    changed = [s for s in scores if s.changed]
    if not scores:
        result.verdict = "unrelated"
        evidence.append("no tensor has the same name and shape in both")
        return
    evidence.append(f"bit-identical tensors: {len(scores) - len(changed)} of {len(scores)}")
    if not changed:
        result.verdict = "identical" if compared_all else "fine-tuned"
        return
    matrices = [s for s in changed if s.top_singular_values]
    cosines = sorted(s.cosine for s in changed)
    median_cosine = cosines[len(cosines) // 2]
    changes = sorted(s.relative_change for s in changed)
    median_change = changes[len(changes) // 2]
    evidence.append(
        f"changed tensors: median relative change {median_change:.3g}, median cosine "
        f"with the base {median_cosine:.3g}"
    )
    kinds = Counter(s.kind for s in changed)
    evidence.append(
        "changed tensor kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    )
    _directions(result, changed)
    if median_cosine < UNRELATED_COSINE:
        result.verdict = "unrelated"
        evidence.append("the changed weights are uncorrelated with the base's")
        return
    grid_share = sum(s.on_grid for s in matrices) / len(matrices) if matrices else 0.0
    casts = [s for s in changed if s.dtype != s.base_dtype and s.relative_change < 1e-2]
    if matrices and grid_share >= QUANTIZED_GRID_SHARE and median_change < QUANTIZED_MAX_CHANGE:
        result.verdict = "quantized"
        evidence.append(f"{grid_share:.0%} of changed matrices have values on a quantization grid")
        return
    if len(casts) == len(changed) and median_change < QUANTIZED_MAX_CHANGE:
        result.verdict = "quantized"
        evidence.append("every changed tensor is the base cast to a lower precision")
        return
    writers_only = all(
        s.kind in ("writer", "embedding") and (s.energy_top3 or 0.0) >= LOW_RANK_ENERGY
        if s.top_singular_values
        else s.kind == "writer"
        for s in changed
    )
    consistent = (result.direction_consistency or 0.0) >= CONSISTENT or (
        result.adjacent_agreement or 0.0
    ) >= SMOOTH_DRIFT
    if writers_only:
        evidence.append(
            f"only residual-stream writers changed, each by a difference of rank <= 3 "
            f"(>= {LOW_RANK_ENERGY:.0%} of its energy in the top 3 directions)"
        )
    if writers_only and consistent:
        result.verdict = "abliterated"
        evidence.append(
            f"top directions agree across layers: consistency {result.direction_consistency:.3f}"
            + (
                f", adjacent layers {result.adjacent_agreement:.3f}"
                if result.adjacent_agreement is not None
                else ""
            )
        )
        if result.band:
            evidence.append(
                f"changes confined to layers {result.band[0]}-{result.band[1]} "
                f"({'contiguous' if result.band_contiguous else 'with gaps'}), strength "
                f"{result.strength_shape}"
            )
        return
    result.verdict = "fine-tuned"
    if writers_only:
        evidence.append("but their directions disagree across layers: not one ablated direction")


def _directions(result: Comparison, changed: list[MatrixScore]) -> None:
    with_direction = [s for s in changed if s.direction is not None and s.top_singular_values]
    if not with_direction:
        return
    directions = [s.direction for s in with_direction if s.direction is not None]
    principal = _principal(directions, [1.0] * len(directions))
    for s in with_direction:
        assert s.direction is not None
        s.direction_cosine = abs(float(s.direction @ principal))
    result.direction = principal
    result.direction_consistency = sum(s.direction_cosine or 0.0 for s in with_direction) / len(
        with_direction
    )
    per_layer = result.layer_directions()
    layers = sorted(per_layer)
    agreements = [
        abs(float(per_layer[a] @ per_layer[b])) for a, b in itertools.pairwise(layers) if b == a + 1
    ]
    if agreements:
        agreements.sort()
        result.adjacent_agreement = agreements[len(agreements) // 2]
    changed_layers = sorted({s.layer for s in changed if s.layer is not None})
    if changed_layers:
        lo, hi = changed_layers[0], changed_layers[-1]
        result.band = (lo, hi)
        result.band_contiguous = changed_layers == list(range(lo, hi + 1))
        strengths: dict[int, list[float]] = {}
        for s in with_direction:
            if s.layer is not None and s.kind == "writer" and s.strength is not None:
                strengths.setdefault(s.layer, []).append(s.strength)
        result.layer_strengths = {k: sum(v) / len(v) for k, v in sorted(strengths.items())}
        result.strength_shape = _strength_shape(
            [result.layer_strengths.get(layer, 0.0) for layer in range(lo, hi + 1)]
        )


TOOL_TAGS = ("abliterated", "abliteration", "uncensored", "heretic", "decensored", "refusal")


def tool_traces(model_dir: Path) -> list[str]:
    """Traces that abliteration tools leave (supporting evidence, never the verdict: anyone
    can add or remove them)."""
    traces: list[str] = []
    model_dir = Path(model_dir)
    readme = model_dir / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")[:200_000].lower()
        found = [tag for tag in TOOL_TAGS if tag in text]
        if found:
            traces.append(f"README.md mentions: {', '.join(found)}")
    if (model_dir / "reproduce" / "reproduce.json").is_file():
        traces.append("reproduce/reproduce.json present (written by abliteration tools)")
    adapter = model_dir / "adapter_config.json"
    if adapter.is_file():
        try:
            targets = json.loads(adapter.read_text(encoding="utf-8")).get("target_modules") or []
        except (OSError, ValueError, AttributeError):
            targets = []
        if targets and set(targets) <= {"o_proj", "down_proj", "out_proj", "c_proj", "w2"}:
            traces.append(
                f"adapter_config.json targets only residual writers: {', '.join(sorted(targets))}"
            )
    return traces
