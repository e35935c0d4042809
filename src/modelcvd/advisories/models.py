"""Advisories: what a case becomes when it is published, with its revisions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from modelcvd.advisories.access import AdvisoryQuerySet
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.reports.models import Report
from modelcvd.vocabulary import AdvisoryState


class AdvisorySequence(models.Model):
    """The last advisory number given out in a year. Incremented with an UPDATE inside the
    allocating transaction, so two writers can never get the same number (see services)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"MCVD-{self.year}: {self.last}"


class Advisory(models.Model):
    """A case's advisory. `content` is what the coordinators wrote; `document` is the full
    advisory (every level but the sealed reproduction) rebuilt from it and the case on every
    change, and rendered to each reader through `policy.disclosure.redact`. The columns beside
    them are copies of `document` for filtering and search."""

    State = AdvisoryState

    advisory_id = models.CharField(max_length=24, unique=True)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="advisories")
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    content = models.JSONField(default=dict)
    document = models.JSONField(default=dict)
    # Copies of `document` for filters and search; `search_text` holds public text only, so a
    # search can never reveal a defender-level word by matching it.
    title = models.CharField(max_length=200)
    owasp = models.CharField(max_length=5)
    atlas = models.CharField(max_length=20)
    harm_category = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, blank=True)
    search_text = models.TextField(blank=True)
    # PostgreSQL only: the tsvector of search_text, kept by a trigger (migration 0002) and
    # GIN-indexed. Stays empty on SQLite, where the registry matches words in search_text.
    search_vector = SearchVectorField(null=True, editable=False)
    artifacts = models.ManyToManyField(Artifact, related_name="advisories")
    # "vendor", or "never" for a held-out benchmark item: then nobody is shown the reproduction.
    reproduction_level = models.CharField(max_length=10, default="vendor")
    commitment = models.CharField(max_length=100, blank=True)
    # The reports whose reproductions the commitment covers, in order (for a later reveal).
    committed_reports = models.JSONField(default=list)
    commitment_salt = models.OneToOneField(
        "core.SealedBlob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    # Four eyes: who sent it to review, and the other coordinator who approved that text.
    # An edit in review clears the approval; the program decides whether publishing needs it.
    review_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    objects = AdvisoryQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            # The registry's order, over public advisories only: pages and counts read it.
            models.Index(
                fields=["-published_at", "-id"],
                name="advisory_registry",
                condition=models.Q(state__in=["published", "withdrawn"]),
            ),
            models.Index(fields=["severity"], name="advisory_severity"),
            models.Index(fields=["harm_category"], name="advisory_harm"),
            models.Index(fields=["atlas"], name="advisory_atlas"),
            models.Index(fields=["owasp"], name="advisory_owasp"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["draft", "review"])
                | models.Q(published_at__isnull=False),
                name="advisory_published_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(reproduction_level__in=["vendor", "never"]),
                name="advisory_reproduction_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.advisory_id}: {self.title}"

    @property
    def is_public(self) -> bool:
        return self.state in (self.State.PUBLISHED, self.State.WITHDRAWN)


class AdvisoryRevision(models.Model):
    """An immutable snapshot of a published advisory's document, with what changed and why.
    Revision 1 is the publication; every later edit and the withdrawal add one."""

    advisory = models.ForeignKey(Advisory, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    changelog = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["advisory_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["advisory", "number"], name="advisory_revision_once"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of advisory #{self.advisory_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("advisory revisions are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("advisory revisions are immutable")


class ImportedRecord(models.Model):
    """A record of another database or tool as imported (`modelcvd import`): `data` is its
    faithful copy (interop/source.py `SourceRecord`: ids, credits, dates, CWE, CVSS vectors,
    affected products and versions, references, taxonomy views, scores, counts), `report` the
    draft report it became (none for a CVE kept for aliasing only), `advisory` the advisory
    drafted from it. One row per (source, source_id): importing the record again updates the
    row and the advisory, and never opens a second case."""

    source = models.CharField(max_length=20)
    source_id = models.CharField(max_length=300)
    data = models.JSONField(default=dict)
    # sha256 of `data` as last imported: an unchanged re-import changes nothing.
    digest = models.CharField(max_length=64)
    report = models.OneToOneField(
        Report, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    advisory = models.ForeignKey(
        Advisory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="imported_records",
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="imported_record_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}"
