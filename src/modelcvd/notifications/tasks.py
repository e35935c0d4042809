"""Thin tasks: take ids, call the notification service."""

from __future__ import annotations

from celery import shared_task

from modelcvd.notifications.webhooks import webhook_attempt


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt; a failure queues the next attempt after the backoff delay."""
    delay = webhook_attempt(delivery_id=delivery_id)
    if delay is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=delay)
