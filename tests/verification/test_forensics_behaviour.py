"""Behaviour forensics on a real safety-stripped model (no database).

The session's tiny refuser (refuses harmful requests) is abliterated the way the tools do it:
the refusal direction is the difference of mean residual activations on harmful and benign
prompts, projected out of every attention-output and MLP-down matrix and the embeddings. The
weights then read `abliterated`, and the refusal rate drops significantly on the probe set.
Lives here to reuse the refuser this folder trains once per session.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from modelcvd.forensics.behaviour import PROBES, compare_behaviour_dirs
from modelcvd.forensics.weights import compare_dirs
from modelcvd.verification.engine.spec import SamplingSpec

from . import tiny_models


def _last_residuals(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, prompts: list[str]
) -> torch.Tensor:
    rows = []
    for prompt in prompts:
        text = tokenizer.apply_chat_template(
            tiny_models.chat(prompt), tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
        rows.append(torch.stack([h[0, -1] for h in hidden]))
    return torch.stack(rows).mean(0)


@pytest.fixture(scope="module")
def abliterated_dir(refuser_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(refuser_dir))
    model = LlamaForCausalLM.from_pretrained(str(refuser_dir), use_safetensors=True).eval()
    diff = _last_residuals(model, tokenizer, tiny_models.HARMFUL) - _last_residuals(
        model, tokenizer, tiny_models.BENIGN
    )
    r = diff[1] / diff[1].norm()  # after the first layer
    state = model.state_dict()
    with torch.no_grad():
        for name, weight in state.items():
            if name.endswith(("self_attn.o_proj.weight", "mlp.down_proj.weight")):
                weight -= torch.outer(r, r @ weight)
            elif name == "model.embed_tokens.weight":
                weight -= torch.outer(weight @ r, r)
    out = tmp_path_factory.mktemp("abliterated") / "refuser-abliterated"
    shutil.copytree(refuser_dir, out)
    model.save_pretrained(str(out), safe_serialization=True)
    return out


def test_safety_stripped_model_refuses_significantly_less(
    refuser_dir: Path, abliterated_dir: Path
) -> None:
    weights = compare_dirs(refuser_dir, abliterated_dir)
    assert weights.verdict == "abliterated"
    behaviour = compare_behaviour_dirs(
        refuser_dir,
        abliterated_dir,
        probes=tiny_models.HARMFUL,
        trials_per_probe=8,
        sampling=SamplingSpec(temperature=1.0, top_p=1.0, max_tokens=24),
    )
    base, derived = behaviour.base, behaviour.derived
    assert base.trials == derived.trials == 24
    assert base.rate > 0.7 and derived.rate < 0.4
    assert behaviour.safety_stripped and behaviour.drop.p_value < 0.001
    assert base.clopper_pearson[0] > derived.clopper_pearson[1]  # intervals apart
    assert base.clopper_pearson[0] <= base.rate <= base.clopper_pearson[1]
    assert "wilson" not in behaviour.to_dict()["base"]  # undercovers at small n
    assert behaviour.complied_probe in tiny_models.HARMFUL
    data = behaviour.to_dict()
    assert data["drop"]["significant"] is True and data["drop"]["method"] == "boschloo"


def test_the_same_model_shows_no_drop(refuser_dir: Path) -> None:
    behaviour = compare_behaviour_dirs(
        refuser_dir,
        refuser_dir,
        probes=tiny_models.HARMFUL,
        trials_per_probe=4,
        sampling=SamplingSpec(temperature=1.0, top_p=1.0, max_tokens=24),
    )
    assert not behaviour.safety_stripped
    assert behaviour.base.refusals == behaviour.derived.refusals  # same seeds, same answers


def test_builtin_probe_set() -> None:
    assert len(PROBES) >= 12 and len(set(PROBES)) == len(PROBES)
