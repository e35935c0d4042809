"""Real derivatives of a tiny transformers Llama, made the way the real tools make them.

Each builder takes the base's state dict and returns a new one: abliteration by the real
operation W' = (I - lambda r r^T) W on the matrices that write to the residual stream, a few
real optimizer steps, a merged LoRA adapter, int8 quantize-dequantize, an unrelated init.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

StateDict = dict[str, torch.Tensor]
WRITERS = ("self_attn.o_proj.weight", "mlp.down_proj.weight")


def tiny_config(layers: int = 6) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )


def tiny_model(seed: int, layers: int = 6) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_config(layers)).eval()


def state_of(model: LlamaForCausalLM) -> StateDict:
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def save_dir(model: LlamaForCausalLM, state: StateDict, out: Path) -> Path:
    """Save `state` as `model`'s weights (config.json + model.safetensors)."""
    out.mkdir(parents=True, exist_ok=True)
    model.config.to_json_file(str(out / "config.json"))
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "model.safetensors"))
    return out


def unit(generator: torch.Generator, dim: int = 64) -> torch.Tensor:
    r = torch.randn(dim, generator=generator)
    return r / r.norm()


def ablate(weight: torch.Tensor, r: torch.Tensor, lam: float) -> torch.Tensor:
    """W' = (I - lam r r^T) W for a matrix whose rows live in the residual stream."""
    return weight - lam * torch.outer(r, r @ weight)


def abliterate(
    state: StateDict,
    directions: dict[int, torch.Tensor],
    strengths: dict[int, float],
    *,
    embeddings: bool = False,
    norm_preserving: bool = False,
) -> StateDict:
    out = dict(state)
    for layer, lam in strengths.items():
        r = directions[layer]
        for suffix in WRITERS:
            name = f"model.layers.{layer}.{suffix}"
            w = state[name]
            new = ablate(w, r, lam)
            if norm_preserving:
                # Keep the norm of every vector written to the residual stream (each column),
                # then store the change compressed to rank 3, as a low-rank adapter would.
                new = new * (w.norm(dim=0) / new.norm(dim=0).clamp(min=1e-12))
                u, s, vh = torch.linalg.svd(new - w, full_matrices=False)
                new = w + (u[:, :3] * s[:3]) @ vh[:3]
            out[name] = new
    if embeddings:
        r = directions[min(directions)]
        e = state["model.embed_tokens.weight"]
        out["model.embed_tokens.weight"] = e - torch.outer(e @ r, r)
    return out


def tent(layers: int, lo: int, hi: int, peak: float = 1.0) -> dict[int, float]:
    """Per-layer strengths rising linearly to a peak in the middle of [lo, hi], then falling."""
    middle = (lo + hi) / 2
    half = (hi - lo) / 2 + 1
    return {layer: peak * (1 - abs(layer - middle) / half) for layer in range(lo, hi + 1)}


def drifting(generator: torch.Generator, layers: int) -> dict[int, torch.Tensor]:
    """Per-layer directions rotating smoothly from one direction to another."""
    a, b = unit(generator), unit(generator)
    b = b - (b @ a) * a
    b = b / b.norm()
    return {
        layer: torch.cos(t) * a + torch.sin(t) * b
        for layer, t in enumerate(torch.linspace(0, torch.pi / 4, layers))
    }


def fine_tune(model: LlamaForCausalLM, seed: int, steps: int = 3) -> StateDict:
    """A few real AdamW steps of language modelling on random tokens."""
    torch.manual_seed(seed)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(steps):
        ids = torch.randint(0, model.config.vocab_size, (4, 16))
        loss = model(input_ids=ids, labels=ids).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return state_of(model)


def merge_lora(
    state: StateDict,
    generator: torch.Generator,
    *,
    rank: int = 8,
    targets: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ),
    scale: float = 0.05,
) -> StateDict:
    """W' = W + scale * B A, as `peft` merges a trained adapter of rank `rank`."""
    out = dict(state)
    for name, w in state.items():
        if w.ndim == 2 and any(f".{t}.weight" in name for t in targets):
            a = torch.randn(rank, w.shape[1], generator=generator) / w.shape[1] ** 0.5
            b = torch.randn(w.shape[0], rank, generator=generator) / rank**0.5
            out[name] = w + scale * (b @ a)
    return out


def int8_roundtrip(state: StateDict, *, per_row: bool = True) -> StateDict:
    """Symmetric absmax int8 quantization of every matrix, dequantized back to float32."""
    out = dict(state)
    for name, w in state.items():
        if w.ndim != 2:
            continue
        amax = w.abs().amax(dim=1, keepdim=True) if per_row else w.abs().max()
        scale = amax / 127
        out[name] = (w / scale).round().clamp(-127, 127) * scale
    return out
