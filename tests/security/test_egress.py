"""Issue 15 #4: server-side requests reaching internal networks, performed as the attacks were.

A vendor registers a webhook that points inside (directly, through DNS rebinding after the
registration check, or through a redirect); a coordinator names an `openai:` target that
answers an error page the reporter and vendor then read on the run, or that would collect a
registered target's key. Listeners are real HTTP servers on loopback; DNS answers are played by
replacing the system resolver of core.egress; a guard refuses any connection that is not to
loopback, so no test ever sends a packet elsewhere.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from modelcvd.core import egress
from modelcvd.core.models import AuditEvent
from modelcvd.notifications.models import WebhookDelivery
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services import (
    run_execute,
    run_request,
    target_offer,
    target_register,
)
from tests.factories import World, sign_in

MARKER = "REMOTE-ERROR-BODY-7f3a9c"
API_KEY = "sk-vendor-target-key-5d2e"
PUBLIC_V4 = "93.184.215.14"  # answered by the fake resolver, never connected to


@dataclass
class Endpoint:
    """A loopback HTTP server: a chat-completions endpoint, a webhook receiver, or a
    redirector. Records each request's path and headers."""

    status: int = 200
    redirect_to: str = ""
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/v1") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _serve(state: Endpoint) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append({"path": self.path, "headers": dict(self.headers)})
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if state.status == 200 and self.path.endswith("/chat/completions"):
                answer = {
                    "model": "m",
                    "choices": [
                        {
                            "message": {"role": "assistant", "content": "I can't help with that."},
                            "finish_reason": "stop",
                        }
                    ],
                }
            elif state.status == 200:
                answer = {}
            else:
                # What a hostile or chatty endpoint sends back with its error.
                answer = {"error": {"message": f"{MARKER}: <script>alert(1)</script>"}}
            data = json.dumps(answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def endpoints() -> Iterator[list[Endpoint]]:
    """Two endpoints: [0] the one a test allows, [1] one it does not."""
    states = [Endpoint(), Endpoint()]
    servers = [_serve(s) for s in states]
    yield states
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append((address[0], address[1]))
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a test tried to connect to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def _run(world: World, target: str, trials: int = 2) -> VerificationRun:
    return run_request(
        case_id=world.cases["a"].pk,
        actor=world.users["triager"],
        artifact_id=world.artifacts["a"].pk,
        target=target,
        trials=trials,
    )


def test_a_remote_error_body_never_reaches_the_reporter_or_the_vendor(
    world: World,
    api_as: Any,
    endpoints: list[Endpoint],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    endpoint = endpoints[0]
    endpoint.status = 400
    settings.EGRESS_ALLOW = [f"127.0.0.1:{endpoint.port}"]
    with django_capture_on_commit_callbacks(execute=True):
        run = _run(world, f"openai:{endpoint.url()}#m")
    run.refresh_from_db()
    assert endpoint.requests  # the attack happened: the endpoint answered its error page
    assert (run.state, run.error) == ("failed", "http error (HTTP 400)")
    case_id = world.cases["a"].pk
    for role in ("researcher_a", "vendor_a", "triager"):
        api = api_as(role)
        for path in (f"/api/v1/verifications/{run.pk}", f"/api/v1/cases/{case_id}/verifications"):
            response = api.get(path)
            assert response.status_code == 200, (role, path)
            assert MARKER not in response.content.decode(), (role, path)
        page = sign_in(Client(), world.users[role]).get(f"/cases/{case_id}/")
        assert page.status_code == 200, role
        html = page.content.decode()
        assert "http error (HTTP 400)" in html and MARKER not in html, role
    # Nor is it kept where staff read: the audit event has the class and the local detail.
    failed = AuditEvent.objects.get(action="verification.failed", object_id=str(run.pk))
    assert failed.data["error"] == "http error (HTTP 400)"
    assert "answered HTTP 400" in failed.data["detail"]
    assert not any(MARKER in json.dumps(e.data) for e in AuditEvent.objects.all())


def test_a_targets_key_goes_only_to_its_own_endpoint(
    world: World,
    api_as: Any,
    endpoints: list[Endpoint],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    loopback_only: list[tuple[str, int]],
) -> None:
    """Issue 19: no platform-wide key. A registered target's sealed credential goes to the URL
    registered with it; a URI typed on a run request carries none."""
    allowed, other = endpoints
    settings.EGRESS_ALLOW = [f"127.0.0.1:{allowed.port}", f"127.0.0.1:{other.port}"]
    vendor = world.users["vendor_a"]
    target = target_register(
        actor=vendor,
        organisation="vendor-a",
        name="A's endpoint",
        kind="endpoint",
        artifact_id=world.artifacts["a"].pk,
        url=allowed.url(),
        model_name="m",
        api_key=API_KEY,
    )
    target_offer(actor=vendor, target_id=target.pk, program="open-models")
    with django_capture_on_commit_callbacks(execute=True):
        run = run_request(
            case_id=world.cases["a"].pk,
            actor=world.users["triager"],
            artifact_id=world.artifacts["a"].pk,
            target_id=target.pk,
            trials=2,
        )
    run.refresh_from_db()
    assert run.state == "finished", run.error
    assert [r["headers"].get("Authorization") for r in allowed.requests] == [
        f"Bearer {API_KEY}"
    ] * 2
    # The same endpoint named directly: no key at all.
    with django_capture_on_commit_callbacks(execute=True):
        typed = _run(world, f"openai:{other.url()}#m")
    typed.refresh_from_db()
    assert typed.state == "finished", typed.error
    assert [r["headers"].get("Authorization") for r in other.requests] == [None, None]
    # The worker checks the registered URL again at every request: here the list changed
    # after the run was queued. The endpoint is never connected to, so it never sees the key.
    with django_capture_on_commit_callbacks(execute=False):
        queued = run_request(
            case_id=world.cases["a"].pk,
            actor=world.users["triager"],
            artifact_id=world.artifacts["a"].pk,
            target_id=target.pk,
            trials=2,
        )
    settings.EGRESS_ALLOW = [f"127.0.0.1:{other.port}"]
    before, seen = len(loopback_only), len(allowed.requests)
    run_execute(run_id=queued.pk)
    queued.refresh_from_db()
    assert (queued.state, queued.error) == ("failed", "address not public")
    assert len(allowed.requests) == seen and loopback_only[before:] == []
    assert not any(API_KEY in json.dumps(e.data) + e.reason for e in AuditEvent.objects.all())


def test_webhooks_cannot_be_aimed_inside(world: World, api_as: Any) -> None:
    for url in (
        "http://127.0.0.1:8000/admin/",
        "http://localhost:8000/",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    ):
        response = api_as("vendor_a").post(
            "/api/v1/webhooks", {"url": url, "organisation": "vendor-a"}
        )
        assert response.status_code == 422, url
        (error,) = response.json()["errors"]
        assert error["field"] == "url" and "address not public" in error["reason"], url


def _acknowledge_case_b(api_as: Any, world: World) -> None:
    response = api_as("triager").post(
        f"/api/v1/cases/{world.cases['b'].pk}/transition",
        {"to": "acknowledged", "reason": "thanks"},
    )
    assert response.status_code == 200


def test_dns_rebinding_after_registration_is_refused_at_delivery(
    world: World,
    api_as: Any,
    endpoints: list[Endpoint],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    loopback_only: list[tuple[str, int]],
) -> None:
    """The name answers a public address while the platform checks it at registration, and
    loopback (where the receiver stands in for an internal service) when the delivery goes."""
    inside = endpoints[0]
    answers = iter([[PUBLIC_V4]])
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers, ["127.0.0.1"])

    monkeypatch.setattr(egress, "system_resolver", resolver)
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    created = api_as("triager").post(
        "/api/v1/webhooks",
        {"url": f"http://hooks.rebind.test:{inside.port}/hook", "program": "open-models"},
    )
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        _acknowledge_case_b(api_as, world)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert [a["error"] for a in delivery.log] == ["address not public"] * 2
    assert lookups == ["hooks.rebind.test"] * 3  # registration, then once per attempt
    assert inside.requests == [] and loopback_only == []


def test_a_webhook_redirect_to_loopback_is_not_followed(
    world: World,
    api_as: Any,
    endpoints: list[Endpoint],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver, inside = endpoints
    receiver.redirect_to = inside.url("/admin/delete-everything")
    settings.EGRESS_ALLOW = [f"127.0.0.1:{receiver.port}"]
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    created = api_as("triager").post(
        "/api/v1/webhooks", {"url": receiver.url("/hook"), "program": "open-models"}
    )
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        _acknowledge_case_b(api_as, world)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert [(a["status"], a["error"]) for a in delivery.log] == [(None, "redirect refused")]
    assert len(receiver.requests) == 1 and inside.requests == []


def test_delivery_is_capped_in_time(
    world: World,
    api_as: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A receiver that accepts the connection and never answers holds a worker no longer than
    the webhook timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    try:
        settings.EGRESS_ALLOW = [f"127.0.0.1:{port}"]
        settings.WEBHOOK_TIMEOUT_SECONDS = 1
        settings.WEBHOOK_MAX_ATTEMPTS = 1
        created = api_as("triager").post(
            "/api/v1/webhooks", {"url": f"http://127.0.0.1:{port}/hook", "program": "open-models"}
        )
        assert created.status_code == 201
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            _acknowledge_case_b(api_as, world)
        assert time.monotonic() - started < 5
        assert WebhookDelivery.objects.get().log[0]["error"] == "timeout"
    finally:
        server.close()
