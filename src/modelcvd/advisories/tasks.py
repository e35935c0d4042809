"""Thin tasks: take ids, call the advisory mail service."""

from __future__ import annotations

from celery import shared_task

from modelcvd.advisories.mail import advisory_published_notify


@shared_task(acks_late=True)
def notify_advisory_published(advisory_pk: int) -> int:
    return advisory_published_notify(advisory_pk=advisory_pk)
