"""Credit for the people (and tools, and sponsors) behind a case, and an optional bounty ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from modelcvd.cases.models import Case
from modelcvd.vocabulary import CreditType

# A tool or a sponsor may be credited by name, with nobody to ask; people are asked.
NAMED_TYPES = (CreditType.TOOL, CreditType.SPONSOR)


class Credit(models.Model):
    """A credit on a case. A person's credit waits for them to accept or decline it; `listed`
    is their choice to appear in the public hall of fame and advisories (opting out keeps the
    credit on record, unlisted). Shown under `User.public_name`, so a pseudonym is respected."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="credits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credits",
    )
    name = models.CharField(max_length=120, blank=True)
    credit_type = models.CharField(max_length=30, choices=CreditType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    listed = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "credit_type", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(name=""))
                | (Q(user__isnull=True) & ~Q(name="")),
                name="credit_user_xor_name",
            ),
            models.UniqueConstraint(
                fields=["case", "user", "credit_type"],
                condition=Q(user__isnull=False),
                name="credit_once_per_person_and_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credit_type} credit on case #{self.case_id}"

    @property
    def display_name(self) -> str:
        return self.user.public_name if self.user else self.name


class Bounty(models.Model):
    """A bounty entry: seen by the researcher it pays and the program's staff, nobody else."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="bounties")
    researcher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bounties"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    donate = models.BooleanField(default=False, help_text="The researcher donates it to charity")
    charity = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "id"]
        verbose_name_plural = "bounties"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bounty_amount_positive"),
            models.CheckConstraint(
                condition=Q(donate=False) | ~Q(charity=""), name="bounty_donation_names_charity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} bounty on case #{self.case_id}"
