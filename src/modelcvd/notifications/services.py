"""Writes of notifications: register a webhook endpoint, queue events for the endpoints.
Delivery happens in tasks after commit (notifications.tasks -> notifications.webhooks); this
module only queues, so the tasks never import it back. The e-mails about case events are the
cases app's own (cases.mail)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import Organisation, User
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput
from modelcvd.core.sealing import create_sealed
from modelcvd.notifications.models import MailPreference, WebhookDelivery, WebhookEndpoint
from modelcvd.notifications.tasks import deliver_webhook
from modelcvd.notifications.webhooks import SECRET_PURPOSE, _check_url, _may_manage
from modelcvd.policy.models import Program
from modelcvd.vocabulary import MailTopic


def webhook_create(
    *,
    actor: User,
    url: str,
    program_slug: str = "",
    organisation_slug: str = "",
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for a program (its triagers, or an admin) or an organisation (its
    vendor members, or an admin). Returns the endpoint and its secret, shown only now."""
    if bool(program_slug) == bool(organisation_slug):
        raise InvalidInput([FieldError("program", "give exactly one of program and organisation")])
    program = organisation = None
    if program_slug:
        program = Program.objects.filter(slug=program_slug).first()
        if program is None:
            raise InvalidInput([FieldError("program", "no program with this slug")])
    else:
        organisation = Organisation.objects.filter(slug=organisation_slug).first()
        if organisation is None:
            raise InvalidInput([FieldError("organisation", "no organisation with this slug")])
    if not _may_manage(actor, program=program, organisation=organisation):
        raise Forbidden("only the program's triagers, the organisation's members or an admin")
    _check_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = create_sealed(
            WebhookEndpoint,
            values={"program": program, "organisation": organisation, "url": url},
            field="secret",
            plaintext=secret.encode(),
            purpose=SECRET_PURPOSE,
        )
        audit_record(actor=actor, action="webhook.create", obj=endpoint, data={"url": url})
    return endpoint, secret


def webhook_emit(*, case: Any, event: str, data: dict[str, Any] | None = None) -> list[int]:
    """Queue `event` about `case` for the program's endpoints and the endpoints of the vendors
    that were told of it (its vendor parties; an artifact's vendor that was not told hears
    nothing). Call inside the change's transaction: the
    deliveries are written with it and sent after commit. The body never carries payloads."""
    vendor_orgs = list(case.vendor_parties.values_list("organisation_id", flat=True))
    endpoints = WebhookEndpoint.objects.filter(active=True).filter(
        program_id=case.program_id
    ) | WebhookEndpoint.objects.filter(active=True, organisation_id__in=vendor_orgs)
    ids = []
    for endpoint in endpoints.distinct():
        body = json.dumps(
            {
                "event": event,
                "case": {
                    "id": case.pk,
                    "title": case.title,
                    "state": case.state,
                    "program": case.program.slug,
                    "url": f"{settings.BASE_URL}/cases/{case.pk}/",
                },
                "data": data or {},
                "sent_at": timezone.now().isoformat(),
            },
            sort_keys=True,
        )
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, body=body)
        ids.append(delivery.pk)

    def send() -> None:
        for delivery_id in ids:
            deliver_webhook.delay(delivery_id)

    if ids:
        transaction.on_commit(send)
    return ids


def mail_preferences_set(*, actor: User, muted: list[str]) -> MailPreference:
    """Turn topics off (and every other topic on) for the actor's own mail."""
    unknown = sorted(set(muted) - {t.value for t in MailTopic})
    if unknown:
        raise InvalidInput([FieldError("muted", f"unknown topics: {unknown}")])
    with transaction.atomic():
        preference, _ = MailPreference.objects.update_or_create(
            user=actor, defaults={"muted": sorted(set(muted))}
        )
        audit_record(
            actor=actor,
            action="mail.preferences",
            obj=preference,
            data={"muted": preference.muted},
        )
    return preference
