"""Signed webhooks against a real local HTTP receiver that verifies each signature with the
snippet published in docs/webhooks.md."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from modelcvd.notifications.models import WebhookDelivery
from modelcvd.notifications.webhooks import backoff_seconds, signature_header, signature_verify
from tests.factories import World

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def docs_verify() -> Callable[..., bool]:
    """The `verify` function exactly as docs/webhooks.md publishes it."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify"]  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Answers 500 to the first `failures` requests, then 200; records every request."""

    failures: int = 0
    secret: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    state = Receiver()
    verify = docs_verify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify(state.secret, self.headers["X-Modelcvd-Signature"], body)
            state.requests.append(
                {
                    "signed": signed,
                    "event": self.headers["X-Modelcvd-Event"],
                    "delivery": self.headers["X-Modelcvd-Delivery"],
                    "body": body,
                }
            )
            failing = len(state.requests) <= state.failures
            self.send_response(400 if not signed else 500 if failing else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    # A receiver on loopback is an internal target: allowed by name, as a deployment would.
    settings.EGRESS_ALLOW = [*settings.EGRESS_ALLOW, f"127.0.0.1:{state.port}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _register(api_as: Any, receiver: Receiver) -> int:
    created = api_as("triager").post(
        "/api/v1/webhooks", {"url": receiver.url, "program": "open-models"}
    )
    assert created.status_code == 201, created.content
    receiver.secret = created.json()["secret"]
    assert receiver.secret.startswith("whsec_")
    return int(created.json()["id"])


def _acknowledge_case_b(world: World, api_as: Any) -> None:
    response = api_as("triager").post(
        f"/api/v1/cases/{world.cases['b'].pk}/transition",
        {"to": "acknowledged", "reason": "thanks"},
    )
    assert response.status_code == 200


def test_receiver_failing_twice_gets_it_on_the_third_attempt(
    world: World,
    api_as: Any,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    receiver.failures = 2
    webhook_id = _register(api_as, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        _acknowledge_case_b(world, api_as)
    assert len(receiver.requests) == 3
    assert all(r["signed"] for r in receiver.requests)
    assert {r["event"] for r in receiver.requests} == {"case.transition"}
    assert len({r["delivery"] for r in receiver.requests}) == 1  # one delivery, retried
    assert b"Pretend you are a locksmith" not in receiver.requests[0]["body"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "delivered" and delivery.attempts == 3
    assert [a["status"] for a in delivery.log] == [500, 500, 200]
    # Exponential backoff: 30 s after the first failure, 60 s after the second.
    assert [a["next_attempt_in"] for a in delivery.log] == [30, 60, None]
    log = api_as("triager").get(f"/api/v1/webhooks/{webhook_id}/deliveries").json()
    assert log[0]["state"] == "delivered" and len(log[0]["log"]) == 3
    # A vendor does not see the program's webhooks.
    assert api_as("vendor_a").get(f"/api/v1/webhooks/{webhook_id}/deliveries").status_code == 404


def test_attempts_are_bounded(
    world: World,
    api_as: Any,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    receiver.failures = 100
    _register(api_as, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        _acknowledge_case_b(world, api_as)
    assert len(receiver.requests) == 4
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed" and delivery.attempts == 4
    assert delivery.log[-1]["next_attempt_in"] is None


def test_a_wrong_secret_or_a_stale_timestamp_fails_verification() -> None:
    verify = docs_verify()
    body = '{"event": "case.transition"}'
    import time

    now = int(time.time())
    header = signature_header("whsec_right", now, body)
    assert verify("whsec_right", header, body.encode())
    assert signature_verify("whsec_right", header, body)
    assert not verify("whsec_wrong", header, body.encode())
    assert not verify("whsec_right", header, body.encode() + b" ")
    stale = signature_header("whsec_right", now - 3600, body)
    assert not verify("whsec_right", stale, body.encode())
    assert not signature_verify("whsec_right", "garbage", body)
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [30, 60, 120]


def test_secret_is_sealed_at_rest_and_bad_urls_are_refused(world: World, api_as: Any) -> None:
    from modelcvd.core.models import SealedBlob

    created = (
        api_as("admin")
        .post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "organisation": "vendor-a"})
        .json()
    )
    blob = SealedBlob.objects.get(purpose="webhook.secret")
    assert created["secret"].encode() not in bytes(blob.ciphertext)
    bad = api_as("admin").post("/api/v1/webhooks", {"url": "ftp://x", "program": "open-models"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"
    both = api_as("admin").post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/x"})
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "program"
    # A vendor registers for its own organisation only.
    own = api_as("vendor_a").post(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "organisation": "vendor-a"}
    )
    other = api_as("vendor_a").post(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "organisation": "vendor-b"}
    )
    assert own.status_code == 201 and other.status_code == 403
