"""The egress path (core.egress) against real listeners on loopback: every refusal happens
before a socket is opened, redirects are refused, the connection goes to the address that was
checked (never to a second DNS answer), the allow list is honoured, and time and size are
capped.

DNS is played by an injected resolver (the policy's `resolver`); connections are real. A guard
on `socket.create_connection` records every connection attempt and refuses anything but
loopback, so a bug here can never send a packet to another network.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from modelcvd.core import egress
from modelcvd.core.egress import EgressPolicy, EgressRefused, address_problem, allow_entry
from tests.conftest import skip_unless_ci

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_V4 = "93.184.215.14"  # a public address: only ever checked here, never connected to


@dataclass
class Listener:
    """An HTTP server on loopback that records each request (path, headers)."""

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    redirect_to: str = ""

    def url(self, path: str = "/ok", host: str | None = None) -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{name}:{self.port}{path}"


def _handler(state: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            state.requests.append({"path": self.path, "headers": dict(self.headers)})
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up, as a cap intends

        def _answer(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big":
                self.send_response(200)
                self.send_header("Content-Length", str(64 * 1024))
                self.end_headers()
                self.wfile.write(b"x" * 64 * 1024)
            elif self.path == "/stream":
                # No Content-Length: the body ends when the connection closes.
                self.send_response(200)
                self.end_headers()
                for _ in range(64):
                    self.wfile.write(b"x" * 1024)
            elif self.path == "/slow":
                time.sleep(3)
                self.send_response(200)
                self.end_headers()
            elif self.path == "/drip":
                self.send_response(200)
                self.end_headers()
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

    return Handler


def _serve(state: Listener, wrap: Callable[[socket.socket], socket.socket] | None = None) -> Any:
    family = socket.AF_INET6 if ":" in state.host else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family

    server = Server((state.host, 0), _handler(state))
    if wrap is not None:
        server.socket = wrap(server.socket)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def listener() -> Iterator[Listener]:
    state = Listener()
    server = _serve(state)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def other_listener() -> Iterator[Listener]:
    state = Listener()
    server = _serve(state)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every connection attempt (httpcore opens sockets with socket.create_connection); any
    destination but loopback fails here, before a packet leaves."""
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append((address[0], address[1]))
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a test tried to connect to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


class Resolver:
    """Answers in turn: `answers[0]` for the first lookup, then the next, the last repeating."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [list(a) for a in answers]
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def policy(*allow: str, resolver: Any = None, **options: Any) -> EgressPolicy:
    return EgressPolicy(allow=tuple(allow_entry(a) for a in allow), resolver=resolver, **options)


def get(url: str, pol: EgressPolicy, **options: Any) -> httpx.Response:
    with egress.client(timeout=5, policy=pol, **options) as client:
        return client.get(url)


def refused(url: str, pol: EgressPolicy, error_class: str) -> EgressRefused:
    with pytest.raises(EgressRefused) as caught:
        get(url, pol)
    assert caught.value.error_class == error_class, caught.value
    return caught.value


# The ranges the issue names, each refused as a literal and as a name's DNS answer.
DENIED = [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"),  # cloud metadata services
    ("100.64.0.1", "shared address space (CGNAT)"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "this network"),  # noqa: S104 - an address refused, not bound
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique local (private)"),
    ("fd12:3456::1", "unique local (private)"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6"),
    ("::ffff:10.0.0.1", "IPv4-mapped IPv6"),
    ("2002:7f00:1::", "6to4 of a loopback address"),
    ("2002:a00:1::1", "6to4 of a private address"),
    # Teredo: server 65.54.227.120 (public), client 10.0.0.1 (stored bit-inverted).
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo of a private address"),
    ("64:ff9b::a00:1", "NAT64 of a private address"),
    ("64:ff9b::7f00:1", "NAT64 of a loopback address"),
]


@pytest.mark.parametrize(("address", "why"), DENIED, ids=[a for a, _ in DENIED])
def test_each_denied_range_is_refused_before_connecting(
    address: str, why: str, connections: list[tuple[str, int]], listener: Listener
) -> None:
    assert address_problem(ipaddress.ip_address(address)) == why
    literal = f"[{address}]" if ":" in address else address
    error = refused(f"http://{literal}:{listener.port}/ok", policy(), egress.NOT_PUBLIC)
    assert why in error.detail
    # The same address as a name's answer.
    dns = Resolver([address])
    refused(f"http://innocent.test:{listener.port}/ok", policy(resolver=dns), egress.NOT_PUBLIC)
    assert dns.lookups == ["innocent.test"]
    assert connections == [] and listener.requests == []


def test_every_answer_is_checked_not_only_the_first(connections: list[tuple[str, int]]) -> None:
    dns = Resolver([PUBLIC_V4, "10.0.0.7"])
    refused("http://two-faced.test/", policy(resolver=dns), egress.NOT_PUBLIC)
    assert connections == []


def test_public_addresses_pass_the_check() -> None:
    for address in (PUBLIC_V4, "2606:4700::1111", "2002:5db8:d70e::1", "64:ff9b::5db8:d70e"):
        destination = egress.destination_check(
            "https://models.example/v1", policy(resolver=Resolver([address]))
        )
        assert [str(a) for a in destination.addresses] == [address]
        assert not destination.allowlisted


def test_redirect_to_loopback_is_refused(
    listener: Listener, other_listener: Listener, connections: list[tuple[str, int]]
) -> None:
    """An allowed host answers 302 to an internal address: the redirect is not followed, even
    by a client told to follow redirects (the transport refuses any 3xx itself)."""
    listener.redirect_to = other_listener.url("/admin")
    pol = policy(f"127.0.0.1:{listener.port}")
    refused(listener.url("/redirect"), pol, egress.REDIRECT)
    transport = egress.EgressTransport(pol)
    with (
        httpx.Client(transport=transport, follow_redirects=True, trust_env=False) as client,
        pytest.raises(EgressRefused, match="redirect refused"),
    ):
        client.get(listener.url("/redirect"))
    assert [r["path"] for r in listener.requests] == ["/redirect", "/redirect"]
    assert other_listener.requests == []
    assert {port for _, port in connections} == {listener.port}


def test_dns_rebinding_after_the_registration_check_is_refused(
    listener: Listener, connections: list[tuple[str, int]]
) -> None:
    """The check at registration sees a public address; at delivery the same name answers
    loopback. The delivery is checked again on its own lookup and refused."""
    dns = Resolver([PUBLIC_V4], ["127.0.0.1"])
    pol = policy(resolver=dns)
    url = f"http://rebind.test:{listener.port}/ok"
    assert egress.url_problem(url, pol) is None
    refused(url, pol, egress.NOT_PUBLIC)
    assert dns.lookups == ["rebind.test", "rebind.test"]
    assert connections == [] and listener.requests == []


def test_the_connection_goes_to_the_checked_address(
    listener: Listener, connections: list[tuple[str, int]]
) -> None:
    """One lookup per request, and the socket goes to its answer: a second lookup (the one a
    rebinding attacker answers differently) never happens. `rebind.test` does not resolve
    outside the injected resolver, so only a pinned connection can reach the listener."""
    dns = Resolver(["127.0.0.1"], ["10.9.9.9"])
    response = get(
        f"http://rebind.test:{listener.port}/ok", policy(f"127.0.0.1:{listener.port}", resolver=dns)
    )
    assert response.text == "ok"
    assert dns.lookups == ["rebind.test"]
    assert connections == [("127.0.0.1", listener.port)]
    # The server still sees the name it was asked for.
    assert listener.requests[0]["headers"]["Host"] == f"rebind.test:{listener.port}"


def test_allow_list_entries_are_honoured(
    listener: Listener, connections: list[tuple[str, int]]
) -> None:
    port = listener.port
    named = f"http://local-model.test:{port}/ok"
    for entry in (f"127.0.0.1:{port}", "127.0.0.1", "127.0.0.0/8"):
        assert get(listener.url(), policy(entry)).text == "ok", entry
        dns = Resolver(["127.0.0.1"])
        assert get(named, policy(entry, resolver=dns)).text == "ok", entry
    # A name entry trusts that name (whatever it resolves to), not the address.
    by_name = policy(f"local-model.test:{port}", resolver=Resolver(["127.0.0.1"]))
    assert get(named, by_name).text == "ok"
    refused(listener.url(), by_name, egress.NOT_PUBLIC)
    # An entry for another port, or another name, or another range allows nothing here.
    for entry in (f"127.0.0.1:{port + 1}", f"other.test:{port}", "10.0.0.0/8"):
        refused(listener.url(), policy(entry), egress.NOT_PUBLIC)
        refused(named, policy(entry, resolver=Resolver(["127.0.0.1"])), egress.NOT_PUBLIC)
    assert len(listener.requests) == 7


def test_ipv6_loopback_listener_allowed_by_bracketed_entry() -> None:
    state = Listener(host="::1")
    try:
        server = _serve(state)
    except OSError:
        skip_unless_ci("no IPv6 loopback here")
    try:
        assert get(state.url(), policy(f"[::1]:{state.port}")).text == "ok"
        refused(state.url(), policy(), egress.NOT_PUBLIC)
    finally:
        server.shutdown()
        server.server_close()


def test_allowlist_only_headers_go_only_where_the_allow_list_admitted(
    listener: Listener, other_listener: Listener
) -> None:
    key = {"Authorization": "Bearer sk-platform"}
    pol = policy(f"127.0.0.1:{listener.port}")
    get(listener.url(), pol, allowlist_only_headers=key)
    assert listener.requests[-1]["headers"]["Authorization"] == "Bearer sk-platform"
    # A name answering the listed address and a public one is admitted (each address passes)
    # but not allow-listed as a whole: no key, and a key the caller set itself is removed.
    dns = Resolver(["127.0.0.1", PUBLIC_V4])
    mixed = policy(f"127.0.0.1:{listener.port}", resolver=dns)
    with egress.client(timeout=5, policy=mixed, allowlist_only_headers=key) as client:
        client.get(f"http://mixed.test:{listener.port}/ok", headers=key)
    assert "Authorization" not in listener.requests[-1]["headers"]
    # An address not on the list is refused before any connection: nothing to send a key to.
    with pytest.raises(EgressRefused):
        get(other_listener.url(), pol, allowlist_only_headers=key)
    assert other_listener.requests == []


def test_response_size_is_capped(listener: Listener) -> None:
    pol = policy(f"127.0.0.1:{listener.port}", max_response_bytes=1024)
    error = refused(listener.url("/big"), pol, egress.TOO_LARGE)
    assert "Content-Length" in error.detail
    # Without a Content-Length the body is counted as it arrives.
    refused(listener.url("/stream"), pol, egress.TOO_LARGE)
    assert get(listener.url("/ok"), pol).text == "ok"


def test_time_is_capped(listener: Listener) -> None:
    pol = policy(f"127.0.0.1:{listener.port}", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        get(listener.url("/slow"), pol)
    # A body dripping a byte every 0.1 s never trips a read timeout: the total cap stops it.
    with pytest.raises(httpx.TimeoutException):
        get(listener.url("/drip"), policy(f"127.0.0.1:{listener.port}", timeout_s=1.0))
    assert time.monotonic() - started < 3.5
    assert egress.error_class(httpx.ReadTimeout("x")) == egress.TIMEOUT


def _tls_pair(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a server certificate for `name`: (server context, client context trusting
    the CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelcvd test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


def test_tls_is_verified_against_the_name_while_the_socket_goes_to_the_checked_address(
    tmp_path: Path, connections: list[tuple[str, int]]
) -> None:
    server_context, client_context = _tls_pair(tmp_path, "models.test")
    state = Listener()
    server = _serve(state, wrap=lambda s: server_context.wrap_socket(s, server_side=True))
    try:
        pol = policy(f"127.0.0.1:{state.port}", resolver=Resolver(["127.0.0.1"]))
        transport = egress.EgressTransport(pol, verify=client_context)
        with httpx.Client(transport=transport, trust_env=False) as client:
            assert client.get(f"https://models.test:{state.port}/ok").text == "ok"
            # Another name on the same address: the certificate does not match it.
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"https://imposter.test:{state.port}/ok")
        assert {address for address, _ in connections} == {"127.0.0.1"}
        assert len(state.requests) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_urls_that_are_not_http_are_refused() -> None:
    for url in ("file:///etc/passwd", "gopher://127.0.0.1:70/", "http:///nohost", "ftp://x/"):
        assert egress.url_problem(url, policy()) == egress.BAD_URL, url

    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "not known")

    assert egress.url_problem("http://nowhere.test/", policy(resolver=nxdomain)) == (
        egress.UNRESOLVED
    )


def test_allow_list_entries_parse_or_name_themselves() -> None:
    assert allow_entry("10.0.0.0/8").network == ipaddress.ip_network("10.0.0.0/8")
    assert allow_entry("127.0.0.1:8000").port == 8000
    assert allow_entry("[::1]:8000") == egress.AllowEntry(
        network=ipaddress.ip_network("::1/128"), port=8000
    )
    assert allow_entry("::1").port is None
    assert allow_entry("Models.Internal.:8080") == egress.AllowEntry(
        host="models.internal", port=8080
    )
    for bad in ("10.0.0.0/33", "host:99999", "[::1", "http://x/", "a b", "[::1]x"):
        assert egress.allow_list_problems([bad]) != [], bad
    assert egress.allow_list_problems(["127.0.0.1:9", "models.internal"]) == []


# Properties of the classification over the whole address space.

V4 = st.ip_addresses(v=4)


def _v4(ip: Any) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip))


@given(V4)
def test_ipv4_mapped_is_always_refused(ip: ipaddress.IPv4Address) -> None:
    assert address_problem(ipaddress.IPv6Address(f"::ffff:{ip}")) is not None


@given(V4)
def test_6to4_and_nat64_are_judged_by_the_embedded_address(ip: ipaddress.IPv4Address) -> None:
    v4_refused = address_problem(_v4(ip)) is not None
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80) | 1)
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    assert (address_problem(sixtofour) is not None) == v4_refused
    assert (address_problem(nat64) is not None) == v4_refused


@given(V4, V4)
def test_teredo_is_refused_when_either_embedded_address_is(
    server: ipaddress.IPv4Address, client: ipaddress.IPv4Address
) -> None:
    teredo = ipaddress.IPv6Address(
        (0x20010000 << 96) | (int(server) << 64) | (int(client) ^ 0xFFFFFFFF)
    )
    assert teredo.teredo == (server, client)
    either = address_problem(server) is not None or address_problem(client) is not None
    assert (address_problem(teredo) is not None) == either


@given(st.ip_addresses())
def test_refuses_at_least_what_python_calls_non_global(ip: Any) -> None:
    embedding = ip.version == 6 and (
        ip in ipaddress.ip_network("64:ff9b::/96")
        or ip.sixtofour is not None
        or ip.teredo is not None
    )
    if not embedding and (not ip.is_global or ip.is_multicast or ip.is_reserved):
        assert address_problem(ip) is not None


@given(st.sampled_from([net for net, _ in egress.DENIED_RANGES]), st.integers(0, 2**128 - 1))
def test_every_address_of_a_denied_range_is_refused(network: Any, offset: int) -> None:
    ip = network[offset % network.num_addresses]
    assert address_problem(ip) is not None


def test_a_malformed_allow_list_stops_the_process_at_start(tmp_path: Path) -> None:
    """A mistyped entry would silently refuse the target it was meant to allow."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "modelcvd.settings",
        "MODELCVD_DATA_DIR": str(tmp_path),
        "MODELCVD_EGRESS_ALLOW": "127.0.0.1:8080, 10.0.0.0/33",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "MODELCVD_EGRESS_ALLOW: '10.0.0.0/33' is not a CIDR" in done.stderr
    env["MODELCVD_EGRESS_ALLOW"] = "127.0.0.1:8080, 10.0.0.0/8 models.internal:8000"
    ok = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
