"""Weight forensics on real derivatives of a tiny transformers Llama (no database).

Every derivative is made the way the real tools make it (tests/forensics/derivatives.py) and
saved as safetensors; `compare_dirs` reads them back from disk. The property test draws the
seed, the direction, the band of layers and the kind of derivative, and holds the verdict and
the recovered direction for every draw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcvd.cli import main
from modelcvd.forensics.weights import Comparison, compare_dirs, on_grid, tool_traces

from . import derivatives as dv

LAYERS = 6
torch.set_num_threads(1)


class Pair:
    """A base model saved to disk, and a way to save derivatives of it beside it."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.seed = seed
        self.model = dv.tiny_model(seed, LAYERS)
        self.state = dv.state_of(self.model)
        self.base_dir = dv.save_dir(self.model, self.state, root / f"base-{seed}")
        self.generator = torch.Generator().manual_seed(10_000 + seed)
        self.count = 0
        self.truth: dict[int, torch.Tensor] = {}

    def compare(self, state: dv.StateDict) -> Comparison:
        self.count += 1
        derived = dv.save_dir(self.model, state, self.root / f"derived-{self.seed}-{self.count}")
        return compare_dirs(self.base_dir, derived)


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return Pair(tmp_path, seed=0)


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return abs(float(a @ b) / float(a.norm() * b.norm()))


def test_rank_one_ablation_every_layer(pair: Pair) -> None:
    r = dv.unit(pair.generator)
    result = pair.compare(
        dv.abliterate(
            pair.state, dict.fromkeys(range(LAYERS), r), dict.fromkeys(range(LAYERS), 1.0)
        )
    )
    assert result.verdict == "abliterated"
    assert result.direction is not None and _cos(result.direction, r) > 0.99
    assert result.direction_consistency is not None and result.direction_consistency > 0.99
    changed = [s for s in result.layers if s.changed]
    assert {s.name.rsplit(".", 2)[-2] for s in changed} == {"o_proj", "down_proj"}
    assert len(changed) == 2 * LAYERS
    for score in changed:
        assert score.energy_top1 is not None and score.energy_top1 > 0.999  # rank 1
        assert score.strength == pytest.approx(1.0, rel=1e-3)  # lambda recovered
    assert result.band == (0, LAYERS - 1) and result.strength_shape == "flat"
    # Everything else bit-identical.
    assert all(not s.changed for s in result.layers if s.kind == "other")


def test_tent_over_a_band(pair: Pair) -> None:
    r = dv.unit(pair.generator)
    strengths = dv.tent(LAYERS, 1, 4, peak=1.2)
    result = pair.compare(dv.abliterate(pair.state, dict.fromkeys(range(LAYERS), r), strengths))
    assert result.verdict == "abliterated"
    assert result.band == (1, 4) and result.band_contiguous
    assert result.strength_shape == "tent"
    for layer, lam in strengths.items():
        assert result.layer_strengths[layer] == pytest.approx(lam, rel=1e-3)
    assert result.direction is not None and _cos(result.direction, r) > 0.99


def test_norm_preserving_variant_rank_three(pair: Pair) -> None:
    r = dv.unit(pair.generator)
    result = pair.compare(
        dv.abliterate(
            pair.state,
            dict.fromkeys(range(LAYERS), r),
            dict.fromkeys(range(LAYERS), 1.0),
            norm_preserving=True,
        )
    )
    assert result.verdict == "abliterated"
    changed = [s for s in result.layers if s.changed]
    assert all(s.energy_top3 is not None and s.energy_top3 > 0.999 for s in changed)
    assert any(s.energy_top1 is not None and s.energy_top1 < 0.9999 for s in changed)
    assert result.direction is not None and _cos(result.direction, r) > 0.99


def test_per_layer_directions(pair: Pair) -> None:
    directions = dv.drifting(pair.generator, LAYERS)
    result = pair.compare(dv.abliterate(pair.state, directions, dict.fromkeys(range(LAYERS), 1.0)))
    assert result.verdict == "abliterated"
    recovered = result.layer_directions()
    assert sorted(recovered) == list(range(LAYERS))
    for layer, true in directions.items():
        assert _cos(recovered[layer], true) > 0.99
    assert result.adjacent_agreement is not None and result.adjacent_agreement > 0.9


@pytest.mark.parametrize("embeddings", [True, False])
def test_with_and_without_embeddings(pair: Pair, embeddings: bool) -> None:
    r = dv.unit(pair.generator)
    result = pair.compare(
        dv.abliterate(
            pair.state,
            dict.fromkeys(range(LAYERS), r),
            dict.fromkeys(range(LAYERS), 1.0),
            embeddings=embeddings,
        )
    )
    assert result.verdict == "abliterated"
    embedding = next(s for s in result.layers if s.name == "model.embed_tokens.weight")
    assert embedding.changed is embeddings
    if embeddings:
        assert embedding.direction is not None and _cos(embedding.direction, r) > 0.99
    assert result.direction is not None and _cos(result.direction, r) > 0.99


def test_fine_tuning_with_real_optimizer_steps(pair: Pair) -> None:
    result = pair.compare(dv.fine_tune(dv.tiny_model(pair.seed, LAYERS), seed=1))
    assert result.verdict == "fine-tuned"
    kinds = {s.name.rsplit(".", 2)[-2] for s in result.layers if s.changed}
    assert {"q_proj", "gate_proj", "o_proj", "embed_tokens"} <= kinds


@pytest.mark.parametrize("targets", [None, ("o_proj", "down_proj")])
def test_merged_lora_rank_eight(pair: Pair, targets: tuple[str, ...] | None) -> None:
    options = {"targets": targets} if targets else {}
    result = pair.compare(dv.merge_lora(pair.state, pair.generator, rank=8, **options))  # type: ignore[arg-type]
    assert result.verdict == "fine-tuned"


@pytest.mark.parametrize("per_row", [True, False])
def test_int8_quantize_dequantize(pair: Pair, per_row: bool) -> None:
    result = pair.compare(dv.int8_roundtrip(pair.state, per_row=per_row))
    assert result.verdict == "quantized"
    assert all(s.on_grid for s in result.layers if s.changed and s.top_singular_values)


def test_unrelated_model_of_the_same_shape(pair: Pair) -> None:
    result = pair.compare(dv.state_of(dv.tiny_model(pair.seed + 1, LAYERS)))
    assert result.verdict == "unrelated"


def test_identical_copy(pair: Pair) -> None:
    result = pair.compare(dict(pair.state))
    assert result.verdict == "identical"
    assert result.changed == 0 and result.tensors == len(pair.state)


def test_lower_precision_copy_is_quantized(pair: Pair) -> None:
    halved = {k: v.to(torch.float16) for k, v in pair.state.items()}
    assert pair.compare(halved).verdict == "quantized"


def test_grid_detector_on_random_and_quantized_values() -> None:
    values = torch.randn(64, 128, generator=torch.Generator().manual_seed(0))
    assert not on_grid(values)
    scale = values.abs().amax(dim=1, keepdim=True) / 127
    assert on_grid((values / scale).round() * scale)


def _abliteration(p: Pair, data: st.DataObject) -> dv.StateDict:
    lo = data.draw(st.integers(0, 2), label="band start")
    hi = data.draw(st.integers(lo + 2, LAYERS - 1), label="band end")
    shape = data.draw(st.sampled_from(["flat", "tent"]), label="strength")
    strengths = (
        dv.tent(LAYERS, lo, hi) if shape == "tent" else dict.fromkeys(range(lo, hi + 1), 1.0)
    )
    per_layer = data.draw(st.booleans(), label="per-layer directions")
    directions = (
        dv.drifting(p.generator, LAYERS)
        if per_layer
        else dict.fromkeys(range(LAYERS), dv.unit(p.generator))
    )
    p.truth = {layer: directions[layer] for layer in strengths}
    return dv.abliterate(
        p.state,
        directions,
        strengths,
        embeddings=data.draw(st.booleans(), label="embeddings"),
        norm_preserving=data.draw(st.booleans(), label="norm-preserving"),
    )


KINDS = ["abliterated", "fine-tuned", "lora", "quantized", "unrelated", "identical"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(KINDS), data=st.data())
def test_verdict_is_right_for_every_kind_and_seed(
    tmp_path_factory: pytest.TempPathFactory, seed: int, kind: str, data: st.DataObject
) -> None:
    p = Pair(tmp_path_factory.mktemp("property"), seed)
    if kind == "abliterated":
        state = _abliteration(p, data)
    elif kind == "fine-tuned":
        state = dv.fine_tune(dv.tiny_model(seed, LAYERS), seed=seed + 1, steps=2)
    elif kind == "lora":
        state = dv.merge_lora(p.state, p.generator, rank=data.draw(st.integers(8, 16)))
    elif kind == "quantized":
        state = dv.int8_roundtrip(p.state, per_row=data.draw(st.booleans()))
    elif kind == "unrelated":
        state = dv.state_of(dv.tiny_model(seed + 1, LAYERS))
    else:
        state = dict(p.state)
    result = p.compare(state)
    expected = "fine-tuned" if kind == "lora" else kind
    assert result.verdict == expected, result.evidence
    if kind == "abliterated":
        recovered = result.layer_directions()
        for layer, true in p.truth.items():
            assert _cos(recovered[layer], true) > 0.99


def test_tool_traces_are_reported_not_trusted(pair: Pair, tmp_path: Path) -> None:
    derived = dv.save_dir(pair.model, dict(pair.state), tmp_path / "traced")
    (derived / "README.md").write_text("---\ntags: [abliterated, heretic]\n---\n")
    (derived / "reproduce").mkdir()
    (derived / "reproduce" / "reproduce.json").write_text("{}")
    (derived / "adapter_config.json").write_text('{"target_modules": ["o_proj", "down_proj"]}')
    traces = tool_traces(derived)
    assert len(traces) == 3
    result = compare_dirs(pair.base_dir, derived)
    assert result.verdict == "identical"  # traces never make the verdict
    assert result.traces == traces


def test_cli_compare_json(pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = dv.unit(pair.generator)
    state = dv.abliterate(pair.state, dict.fromkeys(range(LAYERS), r), dv.tent(LAYERS, 1, 4))
    derived = dv.save_dir(pair.model, state, tmp_path / "cli")
    assert main(["forensics", "compare", str(pair.base_dir), str(derived), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "abliterated"
    assert {"direction_consistency", "layers", "evidence", "band", "direction"} <= data.keys()
    assert len(data["layers"]) == len(pair.state)
    assert _cos(torch.tensor(data["direction"]), r) > 0.99
    assert main(["forensics", "compare", str(pair.base_dir), str(derived)]) == 0
    text = capsys.readouterr().out
    assert "verdict: abliterated" in text and "model.layers.2.mlp.down_proj.weight" in text


def test_cli_compare_rejects_a_directory_without_weights(
    pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forensics", "compare", str(pair.base_dir), str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_fused_expert_tensors_are_read_one_expert_at_a_time(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(3)
    experts = torch.randn(4, 64, 32, generator=g)  # [expert, hidden, intermediate]
    r = dv.unit(g)
    ablated = torch.stack([dv.ablate(e, r, 1.0) for e in experts])
    for name, tensor in (("base", experts), ("derived", ablated)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"hidden_size": 64}))
        save_file(
            {"model.layers.0.mlp.experts.down_proj.weight": tensor.contiguous()},
            str(tmp_path / name / "model.safetensors"),
        )
    result = compare_dirs(tmp_path / "base", tmp_path / "derived")
    assert result.verdict == "abliterated"
    assert len(result.layers) == 4
    assert result.direction is not None and _cos(result.direction, r) > 0.99


def test_bfloat16_checkpoints(pair: Pair, tmp_path: Path) -> None:
    """Real releases are bf16: an ablation done in float32 and stored back in bf16 is still
    found, and a bf16 fine-tune is not mistaken for a lower-precision cast."""
    base16 = {k: v.to(torch.bfloat16) for k, v in pair.state.items()}
    base_dir = dv.save_dir(pair.model, base16, tmp_path / "base16")
    r = dv.unit(pair.generator)
    ablated = dv.abliterate(
        {k: v.float() for k, v in base16.items()},
        dict.fromkeys(range(LAYERS), r),
        dict.fromkeys(range(LAYERS), 1.0),
    )
    derived = dv.save_dir(
        pair.model, {k: v.to(torch.bfloat16) for k, v in ablated.items()}, tmp_path / "abl16"
    )
    result = compare_dirs(base_dir, derived)
    assert result.verdict == "abliterated", result.evidence
    assert result.direction is not None and _cos(result.direction, r) > 0.99
    tuned = dv.fine_tune(dv.tiny_model(pair.seed, LAYERS), seed=2)
    tuned_dir = dv.save_dir(
        pair.model, {k: v.to(torch.bfloat16) for k, v in tuned.items()}, tmp_path / "ft16"
    )
    assert compare_dirs(base_dir, tuned_dir).verdict == "fine-tuned"
