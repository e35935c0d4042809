"""Signed webhooks: signatures, address checks, who manages an endpoint, and delivery with
retries and backoff. Registering an endpoint and emitting events are writes:
notifications.services.

Signature (docs/webhooks.md): HMAC-SHA256 with the endpoint's secret over
`f"{timestamp}.{body}"`, sent as `X-Modelcvd-Signature: t=<unix seconds>,v1=<hex digest>`.
The timestamp is inside the MAC, so a receiver that rejects old timestamps also rejects
replays. Secrets are sealed at rest and shown once, when the endpoint is created.

Delivery: one attempt per task run, through the egress policy (core.egress: the address is
resolved, checked and pinned at every attempt, redirects are refused, time and size capped);
a failed attempt (no answer, refused, or not a 2xx) schedules the next after
WEBHOOK_BACKOFF_SECONDS * 2**(attempt - 1), until WEBHOOK_MAX_ATTEMPTS. Every attempt is
appended to the delivery's log with its status or error class, never the receiver's body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from modelcvd.accounts.models import Organisation, Role, User
from modelcvd.accounts.selectors import organisations_where, roles_of
from modelcvd.core import egress
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.services import sealed_read
from modelcvd.notifications.models import WebhookDelivery, WebhookEndpoint
from modelcvd.policy.models import Program

SECRET_PURPOSE = "webhook.secret"  # noqa: S105 - a seal purpose label, not a secret
SIGNATURE_HEADER = "X-Modelcvd-Signature"
EVENT_HEADER = "X-Modelcvd-Event"
DELIVERY_HEADER = "X-Modelcvd-Delivery"


def signature(secret: str, timestamp: int, body: str) -> str:
    """The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`."""
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: str) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(
    secret: str, header: str, body: str, *, now: int | None = None, tolerance: int = 300
) -> bool:
    """What a receiver does (docs/webhooks.md shows the same in a few lines)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


def backoff_seconds(attempt: int) -> int:
    """Delay after failed attempt number `attempt` (1-based): base, 2*base, 4*base..."""
    return int(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise InvalidInput([FieldError("url", "not a valid URL")]) from None
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise InvalidInput([FieldError("url", "no spaces or control characters")])
    if parts.scheme not in ("http", "https") or not hostname:
        raise InvalidInput([FieldError("url", "an absolute http(s) URL is required")])
    if settings.PRODUCTION and parts.scheme != "https":
        raise InvalidInput([FieldError("url", "webhooks use https in production")])
    # Said now, to whoever registers; every delivery attempt is checked again (a name may
    # resolve elsewhere by then: DNS rebinding).
    if (problem := egress.url_problem(url)) is not None:
        raise InvalidInput(
            [
                FieldError(
                    "url",
                    f"refused: {problem} (internal receivers must be listed in "
                    "MODELCVD_EGRESS_ALLOW)",
                )
            ]
        )


def _may_manage(actor: User, *, program: Program | None, organisation: Organisation | None) -> bool:
    if Role.ADMIN in roles_of(actor):
        return True
    if program is not None:
        return program.organisation_id in organisations_where(actor, Role.TRIAGER)
    assert organisation is not None
    return organisation.pk in organisations_where(actor, Role.VENDOR_MEMBER)


def webhooks_visible(*, actor: User) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.select_related("program", "organisation")
    return [
        e for e in endpoints if _may_manage(actor, program=e.program, organisation=e.organisation)
    ]


def webhook_get_visible(*, actor: User, endpoint_id: int) -> WebhookEndpoint:
    for endpoint in webhooks_visible(actor=actor):
        if endpoint.pk == endpoint_id:
            return endpoint
    raise NotFound()


def webhook_attempt(*, delivery_id: int) -> int | None:
    """Make one attempt. Returns the seconds to wait before the next one, or None when done
    (delivered, or attempts exhausted)."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint__secret").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.state != WebhookDelivery.State.PENDING:
        return None
    secret = sealed_read(blob=delivery.endpoint.secret, owner=delivery.endpoint).decode()
    timestamp = int(time.time())
    status: int | None = None
    error = ""
    try:
        with egress.client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as client:
            response = client.post(
                delivery.endpoint.url,
                content=delivery.body.encode(),
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "modelcvd-webhooks",
                    SIGNATURE_HEADER: signature_header(secret, timestamp, delivery.body),
                    EVENT_HEADER: delivery.event,
                    DELIVERY_HEADER: str(delivery.pk),
                },
            )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        # The vendor who registered the endpoint reads this log: the class only, not the
        # addresses its name resolved to on our side.
        error = egress.error_class(exc)
    delivery.attempts += 1
    ok = status is not None and 200 <= status < 300
    delay: int | None = None
    if ok:
        delivery.state = WebhookDelivery.State.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.state = WebhookDelivery.State.FAILED
    else:
        delay = backoff_seconds(delivery.attempts)
    delivery.log = [
        *delivery.log,
        {
            "at": timezone.now().isoformat(),
            "attempt": delivery.attempts,
            "status": status,
            "error": error,
            "next_attempt_in": delay,
        },
    ]
    delivery.save(update_fields=["attempts", "state", "delivered_at", "log"])
    return delay
