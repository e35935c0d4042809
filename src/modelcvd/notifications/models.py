"""Signed webhooks: endpoints per program or organisation, and the log of every delivery."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from modelcvd.core.models import SealedBlob


class WebhookEndpoint(models.Model):
    """A URL that receives case events, signed with its own secret (sealed at rest).

    Belongs to a program (its coordinators hear about every case of it) or to an organisation
    (a vendor hears about the cases it has been notified of). See docs/webhooks.md.
    """

    program = models.ForeignKey(
        "policy.Program", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
    )
    url = models.URLField(max_length=500)
    secret = models.OneToOneField(SealedBlob, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(program__isnull=False, organisation__isnull=True)
                | Q(program__isnull=True, organisation__isnull=False),
                name="webhook_owner_is_program_or_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"webhook #{self.pk} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt's outcome (the delivery log)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (attempts exhausted)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # [{"at": iso, "status": int | null, "error": str, "next_attempt_in": seconds | null}]
    log = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} to webhook #{self.endpoint_id} ({self.state})"


class MailPreference(models.Model):
    """Topics (vocabulary.MailTopic) a person turned off. Everything is on by default: a
    vendor contact who never visits the settings page still hears of a new case."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference"
    )
    muted = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mail preferences of user {self.user_id}"
