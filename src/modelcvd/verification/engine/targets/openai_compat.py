"""An OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp server, Ollama, hosted APIs).

Requests run concurrently on one `httpx.AsyncClient`, at most `concurrency` in flight (the
target's own limit, whatever the caller hands it at once): the endpoint, not us, should be the
bottleneck. The client lives on an event loop in a thread of the target's own, so connections
are kept across batches and `generate` stays a plain iterator for the synchronous runner.

Transient failures (connection errors, timeouts, 408/409/425/429 and 5xx) are retried with
capped exponential backoff and full jitter. A Retry-After header (seconds or an HTTP date) is
obeyed instead, and for the whole target: a rate-limited endpoint told us when to return, so
no request of ours goes out before then. Other 4xx answers and refusals by the transport (the
egress policy) fail at once. Every failed attempt is recorded as a `RequestFailure` (trial,
attempt, error class, HTTP status, whether and how long it waited): on the `Generation` that
finally succeeded, on the `TargetError` of a request that did not (with every failure of that
`generate` call), and in `failures`, the target's whole record.

The identity that ran is what the endpoint says in each response (`model`,
`system_fingerprint`), not what we asked for: a router may have served another model. An HTTP
endpoint cannot prove its weights, so its identity has no digest, and a run pinned to a digest
is recorded as a mismatch. Each request carries the trial's seed, but servers honour `seed` on a
best-effort basis, so trials are not assumed replayable.

Where requests go is the caller's decision: `transport` is how. The server passes its egress
transport (core.egress: checked and pinned addresses, no redirects, capped time and size); a
synchronous transport must offer `async_transport()`, its asynchronous twin with the same
checks (`EgressTransport` does), or it is refused. It passes no key of its own here; the CLI,
run by an operator against an endpoint they chose, passes no transport and the key it was
given. The engine reads no environment variable. A failure's message never carries what the
endpoint sent back (see TargetError).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import weakref
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import Future, as_completed
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.targets.base import (
    Generation,
    GenerationRequest,
    RequestFailure,
    TargetError,
)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RATE_LIMITED = "rate limited"
HTTP_ERROR = "http error"
TIMEOUT = "timeout"
CONNECTION = "connection failed"
MALFORMED = "malformed answer"

T = TypeVar("T")


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


def _async_transport(
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
) -> httpx.AsyncBaseTransport | None:
    if transport is None or isinstance(transport, httpx.AsyncBaseTransport):
        return transport
    twin = getattr(transport, "async_transport", None)
    if callable(twin):
        made = twin()
        if isinstance(made, httpx.AsyncBaseTransport):
            return made
    raise TargetError(
        f"{type(transport).__name__} has no asynchronous twin (async_transport())",
        error_class="bad target",
    )


class _LoopThread:
    """An event loop running in a daemon thread; stopped by `stop` (or when its target is
    collected, through weakref.finalize)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="openai-target", daemon=True
        )
        self.thread.start()
        self.client: httpx.AsyncClient | None = None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self.client is not None and self.thread.is_alive():
            with contextlib.suppress(Exception):  # closing is best effort
                self.submit(self.client.aclose()).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


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
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        batch_size: int | None = None,
        requests_per_minute: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise TargetError(
                f"endpoint must be an http(s) URL, got {base_url!r}", error_class="bad target"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = max(1, concurrency)
        # How many requests the runner hands over at once (default: one per slot). More than
        # `concurrency` keeps every slot busy while the slowest answers of a batch finish.
        self._batch_size = max(1, batch_size) if batch_size else self.concurrency
        self.max_retries = max(0, max_retries)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._transport = _async_transport(transport)
        # With a transport given, proxies from the environment would bypass it.
        self._trust_env = transport is None
        self._lock = threading.Lock()
        self._last_identity = ModelIdentity(name=model, kind="openai")
        self._failures: list[RequestFailure] = []
        self._runner: _LoopThread | None = None
        self._slots: asyncio.Semaphore | None = None
        self._resume_at = 0.0  # time.monotonic() before which no request goes out (Retry-After)
        # A registered target's rate limit: request starts (retries included) are spaced at
        # least this far apart, so a run never exceeds what the endpoint's owner allowed.
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next_start = 0.0
        self._pace: asyncio.Lock | None = None
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
        return self._batch_size

    @property
    def failures(self) -> tuple[RequestFailure, ...]:
        """Every failed attempt this target has seen, retried or final, in order."""
        with self._lock:
            return tuple(self._failures)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._runner = None

    def _started(self) -> _LoopThread:
        if self._runner is None:
            runner = _LoopThread()
            runner.submit(self._open(runner)).result()
            weakref.finalize(self, runner.stop)
            self._runner = runner
        return self._runner

    async def _open(self, runner: _LoopThread) -> None:
        runner.client = httpx.AsyncClient(
            headers=self._headers,
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
            transport=self._transport,
            follow_redirects=False,
            trust_env=self._trust_env,
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        self._pace = asyncio.Lock()

    async def _paced(self) -> None:
        """Wait for this request's turn under the target's requests-per-minute limit."""
        if not self._interval or self._pace is None:
            return
        async with self._pace:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[Generation]:
        """Answers as they finish. A request that fails for good raises its TargetError (with
        every failure of this call) and cancels the requests still running."""
        if not requests:
            return
        runner = self._started()
        failed: list[RequestFailure] = []
        futures = [runner.submit(self._complete(request, failed)) for request in requests]
        try:
            for future in as_completed(futures):
                try:
                    generation = future.result()
                except TargetError as exc:
                    for other in futures:
                        other.cancel()
                    exc.failures = tuple(failed)
                    raise
                yield generation
        finally:
            for future in futures:
                future.cancel()

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
        # Full jitter: spreads retries of many requests so they do not return in lockstep.
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    def _record(self, failure: RequestFailure, sinks: Sequence[list[RequestFailure]]) -> None:
        with self._lock:
            self._failures.append(failure)
            if failure.retried:
                self.retries += 1
        for sink in sinks:
            sink.append(failure)

    async def _complete(
        self, request: GenerationRequest, failed: list[RequestFailure]
    ) -> Generation:
        runner, slots = self._runner, self._slots
        assert runner is not None and runner.client is not None and slots is not None
        url = f"{self.base_url}/chat/completions"
        body = self._body(request)
        mine: list[RequestFailure] = []
        for attempt in range(1, self.max_retries + 2):
            hinted: float | None = None
            async with slots:
                while (pause := self._resume_at - time.monotonic()) > 0:
                    await asyncio.sleep(pause)  # the endpoint asked everyone to wait
                await self._paced()
                try:
                    response = await runner.client.post(url, json=body)
                except httpx.TransportError as exc:
                    timed_out = isinstance(exc, httpx.TimeoutException)
                    problem, error_class, status = type(exc).__name__, CONNECTION, None
                    if timed_out:
                        error_class = TIMEOUT
                except httpx.HTTPError as exc:
                    # Refused by the transport (an egress policy: address, redirect, size):
                    # retrying would be refused again. Its error_class is a fixed phrase.
                    refused = str(getattr(exc, "error_class", "") or "request refused")
                    self._record(RequestFailure(request.index, attempt, refused), (mine, failed))
                    raise TargetError(
                        f"{url}: {exc}", error_class=refused, failures=tuple(mine)
                    ) from exc
                else:
                    if response.status_code == 200:
                        try:
                            return self._parse(request, response, tuple(mine))
                        except TargetError as exc:
                            failure = RequestFailure(request.index, attempt, MALFORMED, 200)
                            self._record(failure, (mine, failed))
                            exc.failures = tuple(mine)
                            raise
                    # The body is dropped: an error page may echo the conversation or carry
                    # anything its operator wants shown to the run's readers.
                    status = response.status_code
                    problem = f"HTTP {status}"
                    error_class = RATE_LIMITED if status == 429 else HTTP_ERROR
                    if status not in RETRY_STATUSES:
                        self._record(
                            RequestFailure(request.index, attempt, error_class, status),
                            (mine, failed),
                        )
                        raise TargetError(
                            f"{url} answered {problem}",
                            error_class=error_class,
                            status=status,
                            failures=tuple(mine),
                        )
                    hinted = retry_after_seconds(response.headers.get("retry-after"))
            final = attempt > self.max_retries
            if hinted is not None:
                wait = min(hinted, self.retry_after_cap_s)
                if not final:
                    self._resume_at = max(self._resume_at, time.monotonic() + wait)
            else:
                wait = self._backoff(attempt)
            self._record(
                RequestFailure(
                    request.index,
                    attempt,
                    error_class,
                    status,
                    retried=not final,
                    waited_s=0.0 if final else round(wait, 3),
                ),
                (mine, failed),
            )
            if final:
                raise TargetError(
                    f"{url} failed after {attempt} attempts: {problem}",
                    error_class=error_class,
                    status=status,
                    failures=tuple(mine),
                )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(
        self,
        request: GenerationRequest,
        response: httpx.Response,
        failures: tuple[RequestFailure, ...],
    ) -> Generation:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TargetError(
                f"malformed chat completion: {type(exc).__name__}", error_class=MALFORMED
            ) from exc
        identity = ModelIdentity(
            name=str(data.get("model") or self.model),
            revision=str(data.get("system_fingerprint") or ""),
            kind="openai",
        )
        usage = data.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        with self._lock:
            self._last_identity = identity
        return Generation(
            index=request.index,
            response=str(content),
            identity=identity,
            finish_reason=str(choice.get("finish_reason") or ""),
            failures=failures,
            completion_tokens=tokens if isinstance(tokens, int) else None,
        )
