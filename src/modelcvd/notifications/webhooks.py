"""Signed webhooks: signatures, address checks, who manages an endpoint, and delivery with
retries and backoff. Registering an endpoint and emitting events are writes:
notifications.services.

Signature (docs/webhooks.md): HMAC-SHA256 with the endpoint's secret over
`f"{timestamp}.{body}"`, sent as `X-Modelcvd-Signature: t=<unix seconds>,v1=<hex digest>`.
The timestamp is inside the MAC, so a receiver that rejects old timestamps also rejects
replays. Secrets are sealed at rest and shown once, when the endpoint is created.

Delivery: one attempt per task run; a failed attempt (no answer, or not a 2xx) schedules the
next after WEBHOOK_BACKOFF_SECONDS * 2**(attempt - 1), until WEBHOOK_MAX_ATTEMPTS. Every
attempt is appended to the delivery's log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from modelcvd.accounts.models import Organisation, Role, User
from modelcvd.accounts.selectors import organisations_where, roles_of
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
    if settings.PRODUCTION:
        if parts.scheme != "https":
            raise InvalidInput([FieldError("url", "webhooks use https in production")])
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            raise InvalidInput([FieldError("url", "the host name does not resolve")]) from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
                # No webhook may be aimed at the platform's own network.
                raise InvalidInput([FieldError("url", "the host is on a private network")])


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
    request = urllib.request.Request(  # noqa: S310 - scheme checked at registration
        delivery.endpoint.url,
        data=delivery.body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "modelcvd-webhooks",
            SIGNATURE_HEADER: signature_header(secret, timestamp, delivery.body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
        },
    )
    status: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        ) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", exc))[:500]
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
