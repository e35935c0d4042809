"""Webhook endpoints: register (the secret is shown once), list, read the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.notifications.models import WebhookEndpoint
from modelcvd.notifications.services import webhook_create
from modelcvd.notifications.webhooks import webhook_get_visible, webhooks_visible

router = Router(tags=["webhooks"], auth=API_AUTH)


class WebhookIn(Schema):
    url: str = Field(max_length=500)
    program: str = Field("", max_length=100, description="A program's slug (its triagers).")
    organisation: str = Field(
        "", max_length=100, description="An organisation's slug (its vendor members)."
    )


class WebhookOut(Schema):
    id: int
    url: str
    program: str | None
    organisation: str | None
    active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret. Shown once; store it now.")


class DeliveryOut(Schema):
    id: int
    event: str
    state: str
    attempts: int
    log: list[dict[str, Any]]
    created_at: datetime
    delivered_at: datetime | None


def webhook_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "program": endpoint.program.slug if endpoint.program else None,
        "organisation": endpoint.organisation.slug if endpoint.organisation else None,
        "active": endpoint.active,
        "created_at": endpoint.created_at,
    }


@router.post("/webhooks", response={201: WebhookCreatedOut}, summary="Register a signed webhook")
@token_scope(TokenScope.ADMIN)
def create(request: HttpRequest, body: WebhookIn) -> Status[dict[str, Any]]:
    endpoint, secret = webhook_create(
        actor=api_user(request),
        url=body.url,
        program_slug=body.program,
        organisation_slug=body.organisation,
    )
    return Status(201, {**webhook_out(endpoint), "secret": secret})


@router.get("/webhooks", response=list[WebhookOut], summary="Webhooks I manage")
@token_scope(TokenScope.READ)
def webhook_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [webhook_out(e) for e in webhooks_visible(actor=api_user(request))]


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response=list[DeliveryOut],
    summary="The delivery log of a webhook (latest 100)",
)
@token_scope(TokenScope.READ)
def deliveries(request: HttpRequest, webhook_id: int) -> list[Any]:
    endpoint = webhook_get_visible(actor=api_user(request), endpoint_id=webhook_id)
    return list(endpoint.deliveries.all()[:100])
