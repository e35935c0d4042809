"""An OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama, hosted APIs).

Requests run on a bounded thread pool (the endpoint, not us, is the bottleneck, and a sync
`httpx.Client` is shared safely across threads). Transient failures (connection errors,
timeouts, 429, 5xx) are retried with capped exponential backoff and full jitter; a Retry-After
header, when present, is obeyed instead, because a rate-limited endpoint told us when to return.

The identity that ran is what the endpoint says in each response (`model`,
`system_fingerprint`), not what we asked for: a router may have served another model. An HTTP
endpoint cannot prove its weights, so its identity has no digest, and a run pinned to a digest
is recorded as a mismatch. Each request carries the trial's seed, but servers honour `seed` on a
best-effort basis, so trials are not assumed replayable.

Where requests go is the caller's decision: `transport` (an httpx transport) is how. The server
passes its egress transport (core.egress: checked and pinned addresses, no redirects, capped
time and size) and never a key of its own here; the CLI, run by an operator against an endpoint
they chose, passes none and the key it was given. The engine reads no environment variable.
A failure's message never carries what the endpoint sent back (see TargetError).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.targets.base import Generation, GenerationRequest, TargetError

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks us to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class OpenAICompatibleTarget:
    """POSTs each trial to `{base_url}/chat/completions` with its own seed."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        concurrency: int = 4,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        retry_after_cap_s: float = 120.0,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise TargetError(
                f"endpoint must be an http(s) URL, got {base_url!r}", error_class="bad target"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            limits=httpx.Limits(max_connections=self.concurrency),
            transport=transport,
            follow_redirects=False,
            # With a transport given, proxies from the environment would bypass it.
            trust_env=transport is None,
        )
        self._lock = threading.Lock()
        self._last_identity = ModelIdentity(name=model, kind="openai")
        self.retries = 0

    @property
    def identity(self) -> ModelIdentity:
        """The identity the endpoint reported last (the requested name before any answer)."""
        with self._lock:
            return self._last_identity

    @property
    def replayable(self) -> bool:
        return False

    @property
    def batch_size(self) -> int:
        return self.concurrency

    def close(self) -> None:
        self._client.close()

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[Generation]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._complete, request) for request in requests]
            for future in as_completed(futures):
                yield future.result()

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.sampling.temperature,
            "top_p": request.sampling.top_p,
            "max_tokens": request.sampling.max_tokens,
            "seed": request.seed,
            "n": 1,
            "stream": False,
        }

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads retries of many workers so they do not return in lockstep.
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2**attempt))  # noqa: S311

    def _complete(self, request: GenerationRequest) -> Generation:
        url = f"{self.base_url}/chat/completions"
        body = self._body(request)
        problem, problem_class = "not attempted", "connection failed"
        status: int | None = None
        for attempt in range(self.max_retries + 1):
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError as exc:
                timed_out = isinstance(exc, httpx.TimeoutException)
                problem = f"{type(exc).__name__}: {exc}"
                problem_class = "timeout" if timed_out else "connection failed"
                status = None
                wait = self._backoff(attempt)
            except httpx.HTTPError as exc:
                # Refused by the transport (an egress policy: address, redirect, size): retrying
                # would be refused again. Its error_class is a fixed phrase, safe to show.
                refused = getattr(exc, "error_class", "") or "request refused"
                raise TargetError(f"{url}: {exc}", error_class=str(refused)) from exc
            else:
                if response.status_code == 200:
                    return self._parse(request, response)
                # The body is dropped: an error page may echo the conversation or carry
                # anything its operator wants shown to the run's readers.
                status = response.status_code
                problem, problem_class = f"HTTP {status}", "http error"
                if status not in RETRY_STATUSES:
                    raise TargetError(
                        f"{url} answered {problem}", error_class=problem_class, status=status
                    )
                hinted = retry_after_seconds(response.headers.get("retry-after"))
                wait = (
                    min(hinted, self.retry_after_cap_s)
                    if hinted is not None
                    else self._backoff(attempt)
                )
            if attempt == self.max_retries:
                break
            with self._lock:
                self.retries += 1
            self._sleep(wait)
        raise TargetError(
            f"{url} failed after {self.max_retries + 1} attempts: {problem}",
            error_class=problem_class,
            status=status,
        )

    def _parse(self, request: GenerationRequest, response: httpx.Response) -> Generation:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TargetError(
                f"malformed chat completion: {type(exc).__name__}", error_class="malformed answer"
            ) from exc
        identity = ModelIdentity(
            name=str(data.get("model") or self.model),
            revision=str(data.get("system_fingerprint") or ""),
            kind="openai",
        )
        with self._lock:
            self._last_identity = identity
        return Generation(
            index=request.index,
            response=str(content),
            identity=identity,
            finish_reason=str(choice.get("finish_reason") or ""),
        )
