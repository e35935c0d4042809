"""The one egress path: every request the server makes to an address that someone else named
(a vendor's webhook, a coordinator's `openai:` verification target, anything later).

Whoever names the URL must not reach the platform's own network through it (SSRF). So, for
each request: parse the URL (http or https only), resolve the host once, check every address
it resolves to, and connect to a checked address, never to the name again (a second lookup is
where DNS rebinding answers with an internal address). No redirect is followed: a 3xx answer
is refused with the class "redirect refused", because its Location is a new, unchecked URL.
Each request has a total time cap and a response size cap.

Refused: every address that is not public unicast (`address_problem`): private, loopback,
link-local, shared/CGNAT (100.64.0.0/10), multicast, reserved, documentation and benchmarking
ranges, unspecified; IPv4-mapped IPv6 (always); and the IPv6 forms that embed an IPv4 address
(6to4 2002::/16, Teredo 2001::/32, NAT64 64:ff9b::/96) when the embedded address is refused.

The allow list (MODELCVD_EGRESS_ALLOW) lets a deployment reach internal targets on purpose, a
local model server for instance: CIDR ranges or addresses (any port), `IP:PORT` or
`[IPv6]:PORT`, and `NAME` or `NAME:PORT` entries that trust whatever that name resolves to.
Headers given as `allowlist_only_headers` (no caller since issue 19 removed the platform-wide
API key; registered targets pass their own) are added only when the
checked, pinned destination was admitted by the allow list, decided on the same resolution the
connection uses: a name that resolved to an allowed address a moment ago and to an attacker's
public address now gets no key.

What a refusal or a failure may show to anyone is its `error_class` (a short, fixed phrase);
addresses and remote text go in `detail`, for logs and staff only. Remote bodies are never
part of either.

Not covered: the `modelcvd` CLI's own requests (`verify --target openai:...`, `submit
--server`, `verify --server`) run on the operator's machine, to URLs the operator typed,
and so go direct. The verification engine is pure (no Django, no core): the Django side hands
it an `EgressTransport` (verification.services.execution). The endpoint target sends its
requests concurrently on an `httpx.AsyncClient`; it asks the transport for its asynchronous
twin (`EgressTransport.async_transport()`, an `AsyncEgressTransport`), which makes the same
checks on the same policy: one resolution per request (in a worker thread, so the event loop
does not block on DNS), pinned addresses, no redirects, the same caps.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

# The phrases a refusal or failure is known by; safe to show to anyone who may see the request.
NOT_PUBLIC = "address not public"
UNRESOLVED = "host does not resolve"
BAD_URL = "bad url"
REDIRECT = "redirect refused"
TOO_LARGE = "response too large"
TIMEOUT = "timeout"
CONNECTION = "connection failed"


class EgressRefused(httpx.RequestError):
    """A request the egress policy refused, before connecting or while reading the answer.

    Not an `httpx.TransportError`: callers that retry transport errors must not retry a
    refusal. `error_class` may be shown to anyone; `detail` (addresses, limits) to staff only.
    """

    def __init__(
        self, error_class: str, detail: str = "", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(f"{error_class}: {detail}" if detail else error_class, request=request)
        self.error_class = error_class
        self.detail = detail


def error_class(exc: BaseException) -> str:
    """The phrase that may be shown to anyone for a failed request."""
    if isinstance(exc, EgressRefused):
        return exc.error_class
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT
    return CONNECTION


# Each row: a range and why nothing there may be called. Checked before Python's own
# `is_global`, whose answers differ between Python versions (3.11.7 calls 2002:7f00:1:: global).
_V4_DENIED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_V6_DENIED: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/8", "reserved (IPv4-compatible and others)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
DENIED_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why) for net, why in (*_V4_DENIED, *_V6_DENIED)
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address a server may call, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # A dual-stack socket connects to the embedded IPv4 address; no resolver has a
            # reason to answer with one.
            return "IPv4-mapped IPv6"
        embedded: list[ipaddress.IPv4Address] = []
        form = ""
        if ip in _NAT64:
            form, embedded = "NAT64", [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
        elif ip.sixtofour is not None:
            form, embedded = "6to4", [ip.sixtofour]
        elif ip.teredo is not None:
            form, embedded = "Teredo", list(ip.teredo)
        if form:
            # A gateway forwards these to the embedded IPv4 address: judge that address.
            for inner in embedded:
                if (why := address_problem(inner)) is not None:
                    return f"{form} of a {why} address"
            return None
    for network, why in DENIED_RANGES:
        if ip.version == network.version and ip in network:
            return why
    for attribute in ("is_multicast", "is_loopback", "is_link_local", "is_private"):
        if getattr(ip, attribute):
            return attribute.removeprefix("is_").replace("_", "-")
    if ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a network (any port unless given) or a host name (ditto)."""

    network: IPNetwork | None = None
    host: str = ""
    port: int | None = None

    def admits(self, *, host: str, port: int, addresses: Sequence[IPAddress]) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return bool(addresses) and all(
                ip.version == self.network.version and ip in self.network for ip in addresses
            )
        return self.host == host


def allow_entry(text: str) -> AllowEntry:
    """Parse `10.0.0.0/8`, `127.0.0.1`, `127.0.0.1:8000`, `[::1]:8000`, `::1`, `models.internal`
    or `models.internal:8000`. Raises ValueError naming the entry."""
    raw = text.strip()
    try:
        if raw.startswith("["):
            inside, bracket, rest = raw[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError
            port = _port(rest[1:]) if rest else None
            return AllowEntry(network=ipaddress.ip_network(inside), port=port)
        try:
            return AllowEntry(network=ipaddress.ip_network(raw, strict=False))
        except ValueError:
            pass
        host, colon, port_text = raw.rpartition(":")
        if not colon:
            host, port_text = raw, ""
        port = _port(port_text) if port_text else None
        try:
            return AllowEntry(network=ipaddress.ip_network(host), port=port)
        except ValueError:
            pass
        name = _host_name(host)
        if not name or any(ch in name for ch in "/@ []"):
            raise ValueError
        return AllowEntry(host=name, port=port)
    except ValueError:
        raise ValueError(
            f"MODELCVD_EGRESS_ALLOW: {text!r} is not a CIDR, an address, IP:PORT, "
            "[IPv6]:PORT, a host name or NAME:PORT"
        ) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError
    return int(text)


def _host_name(host: str) -> str:
    return host.strip().lower().rstrip(".")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound requests may reach. `resolver` None: `system_resolver`, looked up at call
    time (tests replace it to play DNS rebinding)."""

    allow: tuple[AllowEntry, ...] = ()
    timeout_s: float = 120.0
    max_response_bytes: int = 4 * 1024 * 1024
    resolver: Resolver | None = None

    def resolve(self, host: str, port: int) -> list[str]:
        resolver = self.resolver or system_resolver
        return list(resolver(host, port))


def policy_from_settings() -> EgressPolicy:
    """The deployment's policy: MODELCVD_EGRESS_ALLOW, _TIMEOUT_SECONDS, _MAX_RESPONSE_BYTES."""
    return EgressPolicy(
        allow=tuple(allow_entry(entry) for entry in settings.EGRESS_ALLOW),
        timeout_s=float(settings.EGRESS_TIMEOUT_SECONDS),
        max_response_bytes=int(settings.EGRESS_MAX_RESPONSE_BYTES),
    )


def allow_list_problems(entries: Iterable[str]) -> list[str]:
    """Why entries of MODELCVD_EGRESS_ALLOW do not parse (CoreConfig.ready refuses to start)."""
    problems = []
    for entry in entries:
        try:
            allow_entry(entry)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


@dataclass(frozen=True)
class Destination:
    """A checked destination: connect to `addresses` (in order), never to `host` again."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]
    allowlisted: bool
    host_is_address: bool = field(default=False)


def destination_check(url: str | httpx.URL, policy: EgressPolicy) -> Destination:
    """Resolve once and check every address. Raises EgressRefused (nothing is connected)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise EgressRefused(BAD_URL, "not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise EgressRefused(BAD_URL, "an absolute http(s) URL is required")
    try:
        host = _host_name(parsed.raw_host.decode("ascii"))
    except UnicodeDecodeError:
        raise EgressRefused(BAD_URL, "the host is not ASCII") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            answers = policy.resolve(host, port)
        except (OSError, UnicodeError):
            raise EgressRefused(UNRESOLVED, host) from None
        addresses = []
        for answer in answers:
            ip = _literal(answer)
            if ip is None:
                raise EgressRefused(UNRESOLVED, f"{host} answered {answer!r}")
            addresses.append(ip)
        if not addresses:
            raise EgressRefused(UNRESOLVED, host)
    by_name = any(
        entry.network is None and entry.admits(host=host, port=port, addresses=addresses)
        for entry in policy.allow
    )
    allowlisted = by_name
    if not by_name:
        listed = [_listed(ip, port, policy) for ip in addresses]
        for ip, is_listed in zip(addresses, listed, strict=True):
            if not is_listed and (why := address_problem(ip)) is not None:
                # Every address must pass: the connection may fall back to any of them.
                raise EgressRefused(NOT_PUBLIC, f"{host} resolves to {ip} ({why})")
        allowlisted = all(listed)
    return Destination(
        scheme=parsed.scheme,
        host=host,
        port=port,
        addresses=tuple(addresses),
        allowlisted=allowlisted,
        host_is_address=literal is not None,
    )


def _literal(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _listed(ip: IPAddress, port: int, policy: EgressPolicy) -> bool:
    return any(
        entry.network is not None and entry.admits(host="", port=port, addresses=[ip])
        for entry in policy.allow
    )


@dataclass
class _Cap:
    """The answer's size cap and the request's deadline, counted chunk by chunk: one rule for
    the synchronous and the asynchronous stream."""

    limit: int
    deadline: float
    request: httpx.Request
    seen: int = 0

    def check(self, chunk: bytes) -> bytes:
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise EgressRefused(TOO_LARGE, f"more than {self.limit} bytes", request=self.request)
        if time.monotonic() > self.deadline:
            raise httpx.ReadTimeout("the request's total time cap passed", request=self.request)
        return chunk


def _capped_response(
    response: httpx.Response, stream: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    return httpx.Response(
        status_code=response.status_code,
        headers=response.headers,
        stream=stream,
        extensions=response.extensions,
    )


class _CappedStream(httpx.SyncByteStream):
    """The answer's body, refused once it passes the size cap or the request's deadline."""

    def __init__(self, inner: httpx.SyncByteStream, cap: _Cap) -> None:
        self._inner = inner
        self._cap = cap

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            yield self._cap.check(chunk)

    def close(self) -> None:
        self._inner.close()


class EgressTransport(httpx.BaseTransport):
    """An httpx transport that checks, pins, caps and never redirects (see the module doc).

    Use it with `trust_env=False` on the client (`client()` does): with proxies taken from the
    environment, httpx would send requests through a proxy transport instead of this one.
    """

    def __init__(
        self,
        policy: EgressPolicy | None = None,
        *,
        allowlist_only_headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = policy
        self._allowlist_only = dict(allowlist_only_headers or {})
        self._verify = verify
        # trust_env=False: no CA bundle or proxy from the environment decides for us.
        self._inner = httpx.HTTPTransport(verify=verify, trust_env=False)

    @property
    def policy(self) -> EgressPolicy:
        # Read per request when not fixed: a settings change (or a test's override) applies.
        return self._policy or policy_from_settings()

    def async_transport(self) -> AsyncEgressTransport:
        """The asynchronous twin: the same policy, headers and TLS settings (see the module doc)."""
        return AsyncEgressTransport(
            self._policy, allowlist_only_headers=self._allowlist_only, verify=self._verify
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        deadline = time.monotonic() + policy.timeout_s
        try:
            destination = destination_check(request.url, policy)
        except EgressRefused as exc:
            exc.request = request
            raise
        problem: httpx.ConnectError | None = None
        for pinned in _pinned_requests(request, destination, policy, self._allowlist_only):
            try:
                response = self._inner.handle_request(pinned)
            except httpx.ConnectError as exc:
                problem = exc
                continue
            if (refusal := _refusal(response, request=request, policy=policy)) is not None:
                response.close()
                raise refusal
            assert isinstance(response.stream, httpx.SyncByteStream)
            cap = _Cap(policy.max_response_bytes, deadline, request)
            return _capped_response(response, _CappedStream(response.stream, cap))
        assert problem is not None
        raise httpx.ConnectError(str(problem), request=request)

    def close(self) -> None:
        self._inner.close()


class _AsyncCappedStream(httpx.AsyncByteStream):
    """`_CappedStream` for the asynchronous transport."""

    def __init__(self, inner: httpx.AsyncByteStream, cap: _Cap) -> None:
        self._inner = inner
        self._cap = cap

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield self._cap.check(chunk)

    async def aclose(self) -> None:
        await self._inner.aclose()


class AsyncEgressTransport(httpx.AsyncBaseTransport):
    """`EgressTransport` for `httpx.AsyncClient`: the same checks, pinning and caps.

    The lookup (`destination_check`, which may call the system resolver) runs in a worker
    thread; the connection then goes to a checked address, as in the synchronous transport.
    Use it with `trust_env=False` on the client, for the same reason.
    """

    def __init__(
        self,
        policy: EgressPolicy | None = None,
        *,
        allowlist_only_headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = policy
        self._allowlist_only = dict(allowlist_only_headers or {})
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)

    @property
    def policy(self) -> EgressPolicy:
        return self._policy or policy_from_settings()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        deadline = time.monotonic() + policy.timeout_s
        try:
            destination = await asyncio.to_thread(destination_check, request.url, policy)
        except EgressRefused as exc:
            exc.request = request
            raise
        problem: httpx.ConnectError | None = None
        for pinned in _pinned_requests(request, destination, policy, self._allowlist_only):
            try:
                response = await self._inner.handle_async_request(pinned)
            except httpx.ConnectError as exc:
                problem = exc
                continue
            if (refusal := _refusal(response, request=request, policy=policy)) is not None:
                await response.aclose()
                raise refusal
            assert isinstance(response.stream, httpx.AsyncByteStream)
            cap = _Cap(policy.max_response_bytes, deadline, request)
            return _capped_response(response, _AsyncCappedStream(response.stream, cap))
        assert problem is not None
        raise httpx.ConnectError(str(problem), request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _pinned_requests(
    request: httpx.Request,
    destination: Destination,
    policy: EgressPolicy,
    allowlist_only: Mapping[str, str],
) -> Iterator[httpx.Request]:
    """The request once per checked address, in order: sent to that address (the name stays in
    the Host header and, for https, in SNI), with the allow-list-only headers where admitted
    and the policy's time caps."""
    headers = request.headers.copy()
    for name in allowlist_only:
        headers.pop(name, None)
    if destination.allowlisted:
        headers.update(allowlist_only)
    extensions = dict(request.extensions)
    extensions["timeout"] = _capped_timeouts(extensions.get("timeout"), policy.timeout_s)
    if destination.scheme == "https" and not destination.host_is_address:
        # TLS is checked against the name (SNI and certificate), while the socket goes to
        # the address checked above.
        extensions["sni_hostname"] = destination.host
    for address in destination.addresses:
        yield httpx.Request(
            request.method,
            request.url.copy_with(host=str(address)),
            headers=headers,
            stream=request.stream,
            extensions=extensions,
        )


def _refusal(
    response: httpx.Response, *, request: httpx.Request, policy: EgressPolicy
) -> EgressRefused | None:
    """Why an answer is refused before its body is read (a redirect, a declared size over the
    cap), or None."""
    if 300 <= response.status_code < 400:
        return EgressRefused(REDIRECT, f"HTTP {response.status_code}", request=request)
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > policy.max_response_bytes:
        return EgressRefused(
            TOO_LARGE, f"Content-Length {length} > {policy.max_response_bytes}", request=request
        )
    return None


def _capped_timeouts(given: Any, cap: float) -> dict[str, float]:
    given = given if isinstance(given, dict) else {}
    return {
        phase: min(cap, given[phase]) if given.get(phase) is not None else cap
        for phase in ("connect", "read", "write", "pool")
    }


def client(
    *,
    timeout: float,
    policy: EgressPolicy | None = None,
    allowlist_only_headers: Mapping[str, str] | None = None,
) -> httpx.Client:
    """An httpx client whose every request goes through the egress policy."""
    return httpx.Client(
        transport=EgressTransport(policy, allowlist_only_headers=allowlist_only_headers),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def url_problem(url: str, policy: EgressPolicy | None = None) -> str | None:
    """Why a URL may not be registered as a destination (checked again at every request)."""
    try:
        destination_check(url, policy or policy_from_settings())
    except EgressRefused as exc:
        return exc.error_class
    return None
