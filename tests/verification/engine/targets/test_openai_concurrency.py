"""The endpoint target against a real HTTP server in another process (chat_process.py).

The server measures what the client did (arrival times, requests in flight at most); nothing
of httpx is mocked. Concurrency overlaps up to the target's limit, a 429's Retry-After (seconds
or an HTTP date) holds back every request of the target, transient errors are retried, others
are not, and every failed attempt is recorded. The egress path is checked through the target
too: its asynchronous twin makes the same refusal before connecting.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import formatdate
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelcvd.core import egress
from modelcvd.verification.engine.spec import Message, SamplingSpec
from modelcvd.verification.engine.targets import target_from_uri
from modelcvd.verification.engine.targets.base import (
    GenerationRequest,
    RequestFailure,
    TargetError,
)
from modelcvd.verification.engine.targets.openai_compat import OpenAICompatibleTarget

SERVER = Path(__file__).with_name("chat_process.py")
SAMPLING = SamplingSpec(temperature=1.0, top_p=1.0, max_tokens=8)


class Remote:
    """The server process: its base URL, and its control endpoint."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._control = f"http://127.0.0.1:{port}/control"

    def play(self, *script: tuple[int, dict[str, str], float], delay: float = 0.0) -> None:
        httpx.post(self._control, json={"script": [list(s) for s in script], "delay": delay})

    def counters(self) -> dict[str, Any]:
        return dict(httpx.get(self._control).json())


@pytest.fixture(scope="module")
def server_process() -> Iterator[Remote]:
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield Remote(int(process.stdout.readline()))
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def remote(server_process: Remote) -> Remote:
    server_process.play()
    return server_process


def requests(count: int) -> list[GenerationRequest]:
    messages = (Message("user", "hello"),)
    return [GenerationRequest(i, messages, SAMPLING, seed=900 + i) for i in range(count)]


def target(remote: Remote, **options: Any) -> OpenAICompatibleTarget:
    options = {"backoff_base_s": 0.01, "timeout_s": 10.0} | options
    return OpenAICompatibleTarget(remote.base_url, "m", **options)


def test_requests_overlap_up_to_the_targets_concurrency(remote: Remote) -> None:
    remote.play(delay=0.3)
    endpoint = target(remote, concurrency=4)
    started = time.monotonic()
    answers = {g.index: g for g in endpoint.generate(requests(12))}
    elapsed = time.monotonic() - started
    endpoint.close()
    assert sorted(answers) == list(range(12))
    assert answers[3].response == "seed 903" and answers[3].completion_tokens == 2
    assert remote.counters()["max_in_flight"] == 4
    assert elapsed < 12 * 0.3 / 2  # serial would take 3.6 s; four at a time about 0.9 s


def test_a_batch_larger_than_the_concurrency_stays_within_it(remote: Remote) -> None:
    remote.play(delay=0.1)
    endpoint = target(remote, concurrency=2, batch_size=8)
    assert endpoint.batch_size == 8
    assert len(list(endpoint.generate(requests(8)))) == 8
    # The client is kept between calls (same loop, same connections).
    assert len(list(endpoint.generate(requests(4)))) == 4
    endpoint.close()
    assert remote.counters()["max_in_flight"] == 2


def test_a_registered_rate_limit_spaces_request_starts(remote: Remote) -> None:
    """requests_per_minute (a registered target's limit): 600/min is one start per 0.1 s,
    however many slots are free, measured where the requests arrive."""
    endpoint = target(remote, concurrency=4, requests_per_minute=600)
    assert len(list(endpoint.generate(requests(6)))) == 6
    endpoint.close()
    arrivals = sorted(remote.counters()["arrivals"])
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert len(arrivals) == 6 and min(gaps) >= 0.09, gaps


def test_429_retry_after_seconds_holds_back_every_request(remote: Remote) -> None:
    remote.play((429, {"Retry-After": "1"}, 0.0))
    endpoint = target(remote, concurrency=1)
    answers = list(endpoint.generate(requests(3)))
    endpoint.close()
    first, *rest = remote.counters()["arrivals"]
    assert len(answers) == 3 and len(rest) == 3
    assert min(rest) - first >= 0.95  # the retry and the two requests behind it
    (failure,) = endpoint.failures
    assert failure == RequestFailure(
        failure.index, 1, "rate limited", 429, retried=True, waited_s=1.0
    )
    assert [g.failures for g in answers if g.index == failure.index] == [(failure,)]


def test_429_retry_after_as_an_http_date(remote: Remote) -> None:
    remote.play((429, {"Retry-After": formatdate(time.time() + 2, usegmt=True)}, 0.0))
    endpoint = target(remote, concurrency=1)
    (answer,) = list(endpoint.generate(requests(1)))
    endpoint.close()
    first, second = remote.counters()["arrivals"]
    assert second - first >= 0.95  # an HTTP date has whole seconds: 1 to 2 s from now
    assert answer.failures[0].error_class == "rate limited"


def test_transient_server_errors_are_retried_and_recorded(remote: Remote) -> None:
    remote.play((503, {}, 0.0), (502, {}, 0.0), (500, {}, 0.0))
    endpoint = target(remote, concurrency=1)
    (answer,) = list(endpoint.generate(requests(1)))
    endpoint.close()
    assert answer.response == "seed 900"
    assert [(f.attempt, f.status, f.retried) for f in answer.failures] == [
        (1, 503, True),
        (2, 502, True),
        (3, 500, True),
    ]
    assert endpoint.failures == answer.failures and endpoint.retries == 3
    assert len(remote.counters()["arrivals"]) == 4


def test_permanent_client_errors_are_not_retried(remote: Remote) -> None:
    remote.play((400, {}, 0.0))
    endpoint = target(remote, concurrency=1)
    with pytest.raises(TargetError) as caught:
        list(endpoint.generate(requests(1)))
    endpoint.close()
    assert caught.value.public == "http error (HTTP 400)"
    assert caught.value.failures == (RequestFailure(0, 1, "http error", 400),)
    assert "scripted" not in str(caught.value)  # the body is never shown
    assert len(remote.counters()["arrivals"]) == 1 and endpoint.retries == 0


def test_giving_up_records_every_attempt(remote: Remote) -> None:
    remote.play(*[(500, {}, 0.0)] * 3)
    endpoint = target(remote, concurrency=1, max_retries=2)
    with pytest.raises(TargetError, match="after 3 attempts: HTTP 500") as caught:
        list(endpoint.generate(requests(1)))
    endpoint.close()
    assert [(f.attempt, f.retried) for f in caught.value.failures] == [
        (1, True),
        (2, True),
        (3, False),
    ]


def test_connection_failures_are_retried_and_recorded() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = OpenAICompatibleTarget(
        f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_base_s=0.01
    )
    with pytest.raises(TargetError, match="ConnectError") as caught:
        list(endpoint.generate(requests(1)))
    endpoint.close()
    assert [(f.error_class, f.retried) for f in caught.value.failures] == [
        ("connection failed", True),
        ("connection failed", False),
    ]


def test_the_egress_transport_works_asynchronously_with_the_same_checks(remote: Remote) -> None:
    allowed = egress.EgressPolicy(allow=(egress.allow_entry(f"127.0.0.1:{remote.port}"),))
    uri = f"openai:{remote.base_url}#m"
    endpoint = target_from_uri(uri, concurrency=3, transport=egress.EgressTransport(allowed))
    remote.play(delay=0.2)
    assert len(list(endpoint.generate(requests(6)))) == 6
    endpoint.close()
    assert remote.counters()["max_in_flight"] == 3
    # Without the allow-list entry, loopback is refused before connecting, and not retried.
    remote.play()
    refused = target_from_uri(uri, transport=egress.EgressTransport(egress.EgressPolicy()))
    with pytest.raises(TargetError) as caught:
        list(refused.generate(requests(1)))
    refused.close()
    assert caught.value.public == egress.NOT_PUBLIC
    assert caught.value.failures == (RequestFailure(0, 1, egress.NOT_PUBLIC),)
    assert remote.counters()["arrivals"] == []


def test_a_transport_without_an_asynchronous_twin_is_refused() -> None:
    with pytest.raises(TargetError, match="asynchronous"):
        OpenAICompatibleTarget("http://127.0.0.1:1/v1", "m", transport=httpx.HTTPTransport())
