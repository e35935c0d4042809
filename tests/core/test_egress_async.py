"""The asynchronous egress transport (core.egress.AsyncEgressTransport), which the endpoint
target uses through `EgressTransport.async_transport()`: the same refusals before connecting,
the same pinning to the checked address, no redirects, the same caps. Real listeners on
loopback (tests/core/test_egress.py's), DNS played by an injected resolver, and a guard on the
event loop's `create_connection` that records every attempt and refuses anything but loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

import httpx
import pytest

from modelcvd.core import egress
from modelcvd.core.egress import EgressPolicy, EgressRefused
from tests.core.test_egress import (
    DENIED,
    PUBLIC_V4,
    Listener,
    Resolver,
    listener,
    other_listener,
    policy,
)

__all__ = ["listener", "other_listener"]  # fixtures, used by name


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    attempts: list[tuple[str, int]] = []
    real = asyncio.base_events.BaseEventLoop.create_connection

    async def guarded(
        self: Any, protocol: Any, host: Any = None, port: Any = None, **kw: Any
    ) -> Any:
        attempts.append((str(host), int(port)))
        if not ipaddress.ip_address(str(host)).is_loopback:
            raise AssertionError(f"a test tried to connect to {host}")
        return await real(self, protocol, host, port, **kw)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "create_connection", guarded)
    return attempts


def get(url: str, pol: EgressPolicy, *, follow: bool = False, **options: Any) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = egress.AsyncEgressTransport(pol, **options)
        async with httpx.AsyncClient(
            transport=transport, timeout=5, follow_redirects=follow, trust_env=False
        ) as client:
            response = await client.get(url)
            await response.aread()
            return response

    return asyncio.run(fetch())


def refused(url: str, pol: EgressPolicy, error_class: str, **options: Any) -> EgressRefused:
    with pytest.raises(EgressRefused) as caught:
        get(url, pol, **options)
    assert caught.value.error_class == error_class, caught.value
    return caught.value


@pytest.mark.parametrize(("address", "why"), DENIED, ids=[a for a, _ in DENIED])
def test_each_denied_range_is_refused_before_connecting(
    address: str, why: str, connections: list[tuple[str, int]], listener: Listener
) -> None:
    literal = f"[{address}]" if ":" in address else address
    error = refused(f"http://{literal}:{listener.port}/ok", policy(), egress.NOT_PUBLIC)
    assert why in error.detail
    dns = Resolver([address])
    refused(f"http://innocent.test:{listener.port}/ok", policy(resolver=dns), egress.NOT_PUBLIC)
    assert connections == [] and listener.requests == []


def test_the_connection_goes_to_the_checked_address(
    listener: Listener, connections: list[tuple[str, int]]
) -> None:
    dns = Resolver(["127.0.0.1"], ["10.9.9.9"])
    pol = policy(f"127.0.0.1:{listener.port}", resolver=dns)
    assert get(f"http://rebind.test:{listener.port}/ok", pol).text == "ok"
    assert dns.lookups == ["rebind.test"]
    assert connections == [("127.0.0.1", listener.port)]
    assert listener.requests[0]["headers"]["Host"] == f"rebind.test:{listener.port}"
    # Rebinding: the next request's own lookup answers a private address, and is refused.
    refused(f"http://rebind.test:{listener.port}/ok", pol, egress.NOT_PUBLIC)
    assert len(connections) == 1


def test_redirects_are_refused_even_by_a_following_client(
    listener: Listener, other_listener: Listener
) -> None:
    listener.redirect_to = other_listener.url("/admin")
    pol = policy(f"127.0.0.1:{listener.port}")
    refused(listener.url("/redirect"), pol, egress.REDIRECT, follow=True)
    assert other_listener.requests == []


def test_allowlist_only_headers_go_only_where_the_allow_list_admitted(listener: Listener) -> None:
    key = {"Authorization": "Bearer sk-platform"}
    get(listener.url(), policy(f"127.0.0.1:{listener.port}"), allowlist_only_headers=key)
    assert listener.requests[-1]["headers"]["Authorization"] == "Bearer sk-platform"
    mixed = policy(f"127.0.0.1:{listener.port}", resolver=Resolver(["127.0.0.1", PUBLIC_V4]))
    get(f"http://mixed.test:{listener.port}/ok", mixed, allowlist_only_headers=key)
    assert "Authorization" not in listener.requests[-1]["headers"]


def test_the_synchronous_transports_twin_keeps_its_policy_and_headers(
    listener: Listener,
) -> None:
    key = {"Authorization": "Bearer sk-platform"}
    sync = egress.EgressTransport(policy(f"127.0.0.1:{listener.port}"), allowlist_only_headers=key)
    twin = sync.async_transport()

    async def fetch() -> str:
        async with httpx.AsyncClient(transport=twin, trust_env=False) as client:
            return (await client.get(listener.url())).text

    assert asyncio.run(fetch()) == "ok"
    assert listener.requests[-1]["headers"]["Authorization"] == "Bearer sk-platform"
    with pytest.raises(EgressRefused):
        asyncio.run(
            egress.EgressTransport(policy())
            .async_transport()
            .handle_async_request(httpx.Request("GET", listener.url()))
        )


def test_size_and_time_are_capped(listener: Listener) -> None:
    small = policy(f"127.0.0.1:{listener.port}", max_response_bytes=1024)
    assert "Content-Length" in refused(listener.url("/big"), small, egress.TOO_LARGE).detail
    refused(listener.url("/stream"), small, egress.TOO_LARGE)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        get(listener.url("/slow"), policy(f"127.0.0.1:{listener.port}", timeout_s=0.5))
    with pytest.raises(httpx.TimeoutException):
        get(listener.url("/drip"), policy(f"127.0.0.1:{listener.port}", timeout_s=1.0))
    assert time.monotonic() - started < 3.5
