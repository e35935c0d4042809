"""A local Hugging Face transformers causal LM, loaded from a directory, safetensors only.

Loading refuses anything that could run the model author's code: pickled weights (`.bin`, `.pt`
go through `torch.load`), `trust_remote_code` and unsandboxed chat templates.

Sampling is our own decode loop rather than `model.generate` because every trial needs its own
seed: `generate` draws from one global RNG, so in a batch trial 3's tokens would depend on trial
2's. Here each trial's random numbers come from its own `torch.Generator`, seeded with the
trial's seed: at the start of a batch each row draws one uniform per step it may take, and each
step picks every row's token at once by inverting its cumulative distribution at that row's
uniform (the same distribution as `torch.multinomial`, without a call per row and step). A
trial's draws depend on its seed alone, never on its neighbours in the batch. Two modes:

* batched (default): rows share forward passes. Seeds are per trial, but padding and batch shape
  change the floating-point sums, so a trial re-run alone may not give the same text. The target
  says so (`replayable = False`) and the run records it.
* replayable: each trial runs alone (batch of one) from its own seed, so any single trial
  reproduces bit for bit on the same hardware, software and thread count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from modelcvd.verification.engine.identity import ModelIdentity, weights_digest
from modelcvd.verification.engine.spec import Message
from modelcvd.verification.engine.targets.base import Generation, GenerationRequest, TargetError
from modelcvd.verification.engine.targets.chat_template import render_chat

_SNAPSHOT = re.compile(r"^[0-9a-f]{40}$")
_PROMPT_CACHE_SIZE = 256


def check_model_dir(model_dir: Path) -> None:
    """Refuse a directory that would need remote code or pickles to load."""
    if not model_dir.is_dir():
        raise TargetError(f"model directory not found: {model_dir}")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise TargetError(f"{model_dir} has no config.json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TargetError(f"{config_path} is not readable JSON") from exc
    if "auto_map" in config:
        raise TargetError(f"{model_dir} needs custom code (auto_map); refusing to run it")
    if not any(model_dir.glob("*.safetensors")):
        raise TargetError(f"{model_dir} has no .safetensors weights (pickled weights are refused)")


def directory_name(model_dir: Path) -> str:
    """The model's name: `ORG/NAME` for a Hugging Face cache snapshot
    (`.../models--ORG--NAME/snapshots/<sha>`), else the directory's own name."""
    resolved = model_dir.resolve()
    repo = resolved.parent.parent.name
    if directory_revision(model_dir) and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/")
    return resolved.name


def directory_revision(model_dir: Path) -> str:
    """The commit of a Hugging Face cache snapshot (`.../snapshots/<sha>`), else ""."""
    resolved = model_dir.resolve()
    if resolved.parent.name == "snapshots" and _SNAPSHOT.match(resolved.name):
        return resolved.name
    return ""


def load_tokenizer(model_dir: Path) -> Any:
    return AutoTokenizer.from_pretrained(
        str(model_dir), local_files_only=True, trust_remote_code=False
    )


def load_safetensors_model(model_dir: Path, model_class: Any = AutoModelForCausalLM) -> Any:
    """Load weights from safetensors only, no remote code, float32 on CPU, in eval mode."""
    check_model_dir(model_dir)
    try:
        model = model_class.from_pretrained(
            str(model_dir),
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            dtype=torch.float32,
        )
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot load {model_dir}: {exc}") from exc
    model.eval()
    return model


def _eos_ids(model: PreTrainedModel, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _filter_top_p(logits: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Mask, per row, tokens outside the smallest set whose probability reaches top_p."""
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    sorted_probs = torch.softmax(sorted_logits, dim=-1)
    # Drop a token once the mass before it already reaches top_p; the top token always stays.
    drop = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= top_p.unsqueeze(-1)
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.empty_like(logits).scatter(-1, order, sorted_logits)


class TransformersTarget:
    """A causal LM in a local directory, answering trials batched or one by one (replayable)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        replayable: bool = False,
        batch_size: int = 16,
        name: str | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        check_model_dir(self.model_dir)
        self._replayable = replayable
        self._batch_size = 1 if replayable else max(1, batch_size)
        self.tokenizer = load_tokenizer(self.model_dir)
        template = getattr(self.tokenizer, "chat_template", None)
        if not isinstance(template, str) or not template:
            raise TargetError(f"{self.model_dir} has no chat template (a single string)")
        self._template = template
        self.model = load_safetensors_model(self.model_dir)
        self._prompts: dict[tuple[Message, ...], list[int]] = {}
        self._eos = _eos_ids(self.model, self.tokenizer)
        if not self._eos:
            raise TargetError(f"{self.model_dir} defines no end-of-sequence token")
        pad = self.tokenizer.pad_token_id
        self._pad = int(pad) if pad is not None else min(self._eos)
        self._identity = ModelIdentity(
            name=name or directory_name(self.model_dir),
            revision=directory_revision(self.model_dir),
            weights_digest=weights_digest(self.model_dir),
            kind="transformers",
        )

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    @property
    def replayable(self) -> bool:
        return self._replayable

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def close(self) -> None:
        """Nothing to release: the weights go with the object."""

    def prompt_ids(self, request: GenerationRequest) -> list[int]:
        """Token ids of the rendered conversation; cached, since a run repeats one conversation."""
        cached = self._prompts.get(request.messages)
        if cached is not None:
            return cached
        text = render_chat(
            self._template,
            request.messages,
            bos_token=self.tokenizer.bos_token or "",
            eos_token=self.tokenizer.eos_token or "",
        )
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(self._prompts) >= _PROMPT_CACHE_SIZE:
            # An LLM judge sees a new conversation per trial; keep the cache from growing.
            self._prompts.clear()
        self._prompts[request.messages] = ids
        return ids

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[Generation]:
        for start in range(0, len(requests), self._batch_size):
            yield from self._generate_batch(requests[start : start + self._batch_size])

    @torch.inference_mode()
    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        prompts = [self.prompt_ids(request) for request in requests]
        width = max(len(ids) for ids in prompts)
        # Left padding keeps every row's next token at the same (last) position.
        input_ids = torch.tensor([[self._pad] * (width - len(p)) + p for p in prompts])
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        max_new = max(request.sampling.max_tokens for request in requests)
        # Row r's uniform for step t is uniforms[r, t], from the trial's own seeded generator.
        uniforms = torch.stack(
            [
                torch.rand(max_new, generator=torch.Generator().manual_seed(request.seed))
                for request in requests
            ]
        )
        produced: list[list[int]] = [[] for _ in requests]
        finished = [False] * len(requests)
        reasons = ["length"] * len(requests)
        past: Any = None
        step_ids = input_ids
        for step in range(max_new):
            out = self.model(
                input_ids=step_ids,
                attention_mask=attention,
                position_ids=positions,
                cache=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past = out.cache
            tokens = self._sample(out.logits[:, -1, :].float(), requests, uniforms[:, step])
            next_ids = []
            for row, token in enumerate(tokens):
                if finished[row]:
                    next_ids.append(self._pad)
                    continue
                if token in self._eos:
                    finished[row], reasons[row] = True, "stop"
                else:
                    produced[row].append(token)
                    if len(produced[row]) >= requests[row].sampling.max_tokens:
                        finished[row] = True
                next_ids.append(token)
            if all(finished):
                break
            step_ids = torch.tensor(next_ids).unsqueeze(-1)
            attention = torch.cat([attention, torch.ones(len(requests), 1, dtype=torch.long)], -1)
            positions = positions[:, -1:] + 1
        return [
            Generation(
                index=request.index,
                response=self.tokenizer.decode(tokens, skip_special_tokens=True),
                identity=self._identity,
                finish_reason=reasons[row],
            )
            for row, (request, tokens) in enumerate(zip(requests, produced, strict=True))
        ]

    @staticmethod
    def _sample(
        logits: torch.Tensor, requests: Sequence[GenerationRequest], uniforms: torch.Tensor
    ) -> list[int]:
        """One next token per row: temperature, nucleus filtering and the draw, all batched.

        A row at temperature 0 takes its most likely token; any other row the first token at
        which its cumulative probability exceeds its uniform (inverse transform sampling).
        Finished rows get a token too; the caller ignores it.
        """
        greedy = torch.argmax(logits, dim=-1)
        temperature = torch.tensor([r.sampling.temperature for r in requests])
        sampled_rows = temperature > 0.0
        if not bool(sampled_rows.any()):
            return [int(token) for token in greedy.tolist()]
        top_p = torch.tensor([r.sampling.top_p for r in requests])
        scaled = logits / temperature.clamp(min=1e-6).unsqueeze(-1)
        if bool((top_p < 1.0).any()):  # the sort costs more than the rest at a real vocabulary
            scaled = _filter_top_p(scaled, top_p)
        cumulative = torch.softmax(scaled, dim=-1, dtype=torch.float64).cumsum(dim=-1)
        # Scaled by each row's total, so rounding in the sum can never leave a row without a
        # token; clamped for the same reason.
        targets = (uniforms.to(torch.float64) * cumulative[:, -1]).unsqueeze(-1)
        drawn = torch.searchsorted(cumulative, targets, right=True).squeeze(-1)
        drawn = drawn.clamp(max=logits.shape[-1] - 1)
        return [int(token) for token in torch.where(sampled_rows, drawn, greedy).tolist()]
