"""Targets: the models under test. `target_from_uri` parses the CLI's `hf:DIR` / `openai:URL#MODEL`.

The transformers target is imported lazily so the HTTP target works without the ml extra.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from modelcvd.optional import require_ml
from modelcvd.verification.engine.targets.base import (
    Generation,
    GenerationRequest,
    Target,
    TargetError,
)
from modelcvd.verification.engine.targets.openai_compat import OpenAICompatibleTarget

__all__ = ["Generation", "GenerationRequest", "Target", "TargetError", "target_from_uri"]


def target_from_uri(
    uri: str,
    *,
    replayable: bool = False,
    batch_size: int = 16,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
    api_key: str | None = None,
    requests_per_minute: int | None = None,
) -> Target:
    """`hf:DIR` (local transformers model) or `openai:URL#MODEL` (chat-completions endpoint).

    `transport`, `api_key` and `requests_per_minute` apply to endpoints: the server passes its
    egress transport (and a registered target's key and rate limit); the CLI passes no transport
    and the operator's own key."""
    scheme, _, rest = uri.partition(":")
    if scheme == "hf" and rest:
        require_ml("a local Hugging Face target (hf:DIR)")
        # torch and transformers (the ml extra) load only for local models.
        from modelcvd.verification.engine.targets.huggingface import TransformersTarget

        return TransformersTarget(Path(rest), replayable=replayable, batch_size=batch_size)
    if scheme == "openai" and rest:
        url, _, model = rest.partition("#")
        if not model:
            raise TargetError("an openai target needs a model: openai:URL#MODEL")
        if replayable:
            raise TargetError("--replayable needs a local target: HTTP endpoints cannot pin RNG")
        return OpenAICompatibleTarget(
            url,
            model,
            concurrency=concurrency,
            transport=transport,
            api_key=api_key,
            requests_per_minute=requests_per_minute,
        )
    raise TargetError(f"unknown target {uri!r}: use hf:DIR or openai:URL#MODEL")
