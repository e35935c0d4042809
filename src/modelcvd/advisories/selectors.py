"""Reads on advisories, scoped to the actor; the registry's search and filters.

Published (and withdrawn) advisories are public; a draft or one in review is seen only by the
case's coordinators and its notified vendors, and is answered like a missing one otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, QuerySet

from modelcvd.accounts.models import Organisation
from modelcvd.advisories.access import PUBLIC_STATES
from modelcvd.advisories.models import Advisory, AdvisoryRevision
from modelcvd.advisories.schemas import SEVERITIES
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import CaseAccess
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.policy.disclosure import Channel, Level, channel_level
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025, atlas_technique_name
from modelcvd.verification.models import VerificationRun

Actor = AbstractBaseUser | AnonymousUser
SEARCH_CONFIG = "english"
MAX_PAGE_SIZE = 100
# Counting every match of a very common word costs a scan of the whole registry; past this
# many the registry says "more than" instead (as search engines do). Pages past it still work.
COUNT_CAP = 10_000
SORTS = ("newest", "relevance")


def disclosure_level_for(*, actor: Actor, advisory: Advisory) -> Level:
    """The level `actor` is entitled to on `advisory`: vendor for the case's coordinators and
    notified vendors, defender for vetted defenders, public for everyone else."""
    if not actor.is_authenticated:
        return Level.PUBLIC
    got = Advisory.objects.standing(actor, advisory, ("vendor_level", "defender_level"))
    if got["vendor_level"]:
        return Level.VENDOR
    if got["defender_level"]:
        return Level.DEFENDER
    return Level.PUBLIC


def advisory_attested_runs(
    *, actor: Actor, advisory: Advisory, channel: Channel = Channel.PAGE
) -> QuerySet[VerificationRun]:
    """The runs whose signed attestations are published with the advisory: at the defender
    level and above, the case's finished runs on an artifact with a recorded digest (never a
    held-out benchmark item's). Nothing below the defender level (docs/attestations.md)."""
    level = channel_level(disclosure_level_for(actor=actor, advisory=advisory), channel)
    if level < Level.DEFENDER:
        return VerificationRun.objects.none()
    return (
        VerificationRun.objects.filter(
            case_id=advisory.case_id,
            state=VerificationRun.State.FINISHED,
            report__held_out=False,
        )
        .exclude(artifact__manifest_digest="", artifact__weights_digest="")
        .select_related("artifact")
        .order_by("pk")
    )


def advisory_list_visible(*, actor: Actor) -> QuerySet[Advisory]:
    """Public advisories, plus the drafts of cases the actor coordinates or is a vendor in."""
    return Advisory.objects.restrict(actor, "view").select_related("case__program")


def advisory_get_visible(*, actor: Actor, advisory_id: str) -> Advisory:
    """A public advisory for anyone; a draft for the case's coordinators and notified vendors
    (a reporter sees their case, but is not a party to its unpublished advisory)."""
    return advisory_get_for(actor=actor, advisory_id=advisory_id)


def advisory_get_for(
    *,
    actor: Actor,
    advisory_id: str,
    action: str = "view",
    lock: bool = False,
    forbidden: str = "",
) -> Advisory:
    """The advisory if `actor` may do `action` to it; NotFound when missing or not allowed
    (or, with `forbidden`, Forbidden for an actor who may see it but not do `action`)."""
    return Advisory.objects.select_related("case__program").get_for(
        actor=actor, action=action, lock=lock, forbidden=forbidden, advisory_id=advisory_id
    )


def advisory_get_public(*, advisory_id: str) -> Advisory:
    advisory = Advisory.objects.filter(advisory_id=advisory_id, state__in=PUBLIC_STATES).first()
    if advisory is None:
        raise NotFound()
    return advisory


def advisory_public_stamp(*, advisory_id: str) -> tuple[dt.datetime, str] | None:
    """When a public advisory's published revision was made, and its state: two columns by
    the unique id, never the document (HTTP validators, web/caching.py). Every revision sets
    `modified_at` to its own time. None for a missing or unpublished advisory."""
    # No ordering: by the unique index alone (`first()` would order by the registry's index
    # and make PostgreSQL walk it).
    found = list(
        Advisory.objects.filter(advisory_id=advisory_id, state__in=PUBLIC_STATES)
        .order_by()
        .values_list("modified_at", "state")[:1]
    )
    return found[0] if found else None


def registry_public_stamp() -> tuple[int, dt.datetime | None]:
    """The registry's newest revision (id, time): every publication, public edit and
    withdrawal adds one, so it changes whenever any public document does. One read by the
    primary key; (0, None) for an empty registry."""
    newest = AdvisoryRevision.objects.order_by("-id").values_list("id", "created_at").first()
    return newest if newest is not None else (0, None)


@dataclass(frozen=True)
class RegistryQuery:
    """The registry's search and filters, validated."""

    q: str = ""
    artifact: tuple[str, str] | None = None
    vendor: str = ""
    technique: str = ""
    harm_category: str = ""
    severity: str = ""
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    sort: str = "newest"
    page: int = 1
    page_size: int = 20


def _date(errors: list[FieldError], name: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, "not a date (YYYY-MM-DD)"))
        return None


def _positive(errors: list[FieldError], name: str, text: str, default: int, most: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        errors.append(FieldError(name, f"a whole number from 1 to {most}"))
        return default
    return int(text)


def _artifact_known(actor: Actor, provider: str, name: str) -> bool:
    """Whether `actor` may know this artifact exists: the artifact access rule, or a public
    advisory naming it (already public). A hidden artifact and a missing one answer alike,
    so the filter is no existence oracle."""
    named = Artifact.objects.filter(provider=provider, name=name)
    return (
        named.restrict(actor, "view").exists()
        or named.filter(advisories__state__in=PUBLIC_STATES).exists()
    )


def registry_query_parse(params: Mapping[str, str], *, actor: Actor) -> RegistryQuery:
    """Read the registry's query parameters; InvalidInput names every bad one and why (an
    artifact `actor` may not know of is named like one that does not exist)."""
    errors: list[FieldError] = []
    get = lambda name: (params.get(name) or "").strip()  # noqa: E731
    q = get("q")
    if len(q) > 200:
        errors.append(FieldError("q", "at most 200 characters"))
    artifact = None
    if text := get("artifact"):
        provider, _, name = text.partition("/")
        if not provider or not name:
            errors.append(FieldError("artifact", "give it as provider/name"))
        elif not _artifact_known(actor, provider, name):
            errors.append(FieldError("artifact", "no artifact with this provider/name"))
        else:
            artifact = (provider, name)
    vendor = get("vendor")
    if vendor and not Organisation.objects.filter(slug=vendor, kind="vendor").exists():
        errors.append(FieldError("vendor", "no vendor with this slug"))
    technique = get("technique")
    if technique and technique not in OWASP_LLM_2025 and atlas_technique_name(technique) is None:
        errors.append(
            FieldError("technique", "not a MITRE ATLAS technique id or an OWASP LLM 2025 id")
        )
    harm = get("harm_category")
    if harm and harm not in HARM_CATEGORIES:
        errors.append(FieldError("harm_category", f"one of {sorted(HARM_CATEGORIES)}"))
    severity = get("severity").lower()
    if severity and severity not in SEVERITIES:
        errors.append(FieldError("severity", f"one of {list(SEVERITIES)}"))
    published_from = _date(errors, "published_from", get("published_from"))
    published_to = _date(errors, "published_to", get("published_to"))
    if published_from and published_to and published_from > published_to:
        errors.append(FieldError("published_to", "must not be before published_from"))
    sort = get("sort") or "newest"
    if sort not in SORTS:
        errors.append(FieldError("sort", f"one of {list(SORTS)}"))
    elif sort == "relevance" and not q:
        errors.append(FieldError("sort", "relevance needs a search (q)"))
    page = _positive(errors, "page", get("page"), 1, 10_000)
    page_size = _positive(errors, "page_size", get("page_size"), 20, MAX_PAGE_SIZE)
    if errors:
        raise InvalidInput(errors)
    return RegistryQuery(
        q=q,
        artifact=artifact,
        vendor=vendor,
        technique=technique,
        harm_category=harm,
        severity=severity,
        published_from=published_from,
        published_to=published_to,
        sort=sort,
        page=page,
        page_size=page_size,
    )


def _full_text(qs: QuerySet[Advisory], q: str, *, by_relevance: bool) -> QuerySet[Advisory]:
    """PostgreSQL: the stored, GIN-indexed tsvector of the public text (migration 0002);
    newest first, or best match first when asked (ranking reads every match, so it costs a
    scan of the registry for a very common word). Elsewhere (SQLite): every word must occur
    in the public text, newest first."""
    if connection.vendor == "postgresql":
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        qs = qs.filter(search_vector=query)
        if by_relevance:
            qs = qs.annotate(rank=SearchRank(F("search_vector"), query)).order_by(
                "-rank", "-published_at", "-id"
            )
        return qs
    for word in q.split():
        qs = qs.filter(search_text__icontains=word.strip("\"'()"))
    return qs


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def advisory_search(query: RegistryQuery) -> QuerySet[Advisory]:
    """Public advisories matching the query, newest first (or best match first: `sort`)."""
    qs: QuerySet[Advisory] = Advisory.objects.filter(state__in=PUBLIC_STATES).order_by(
        "-published_at", "-id"
    )
    if query.artifact:
        provider, name = query.artifact
        qs = qs.filter(
            pk__in=Advisory.artifacts.through.objects.filter(
                artifact__provider=provider, artifact__name=name
            ).values("advisory_id")
        )
    if query.vendor:
        qs = qs.filter(
            pk__in=Advisory.artifacts.through.objects.filter(
                artifact__vendor__slug=query.vendor
            ).values("advisory_id")
        )
    if query.technique:
        field = "owasp" if query.technique in OWASP_LLM_2025 else "atlas"
        qs = qs.filter(**{field: query.technique})
    if query.harm_category:
        qs = qs.filter(harm_category=query.harm_category)
    if query.severity:
        qs = qs.filter(severity=query.severity)
    # Whole UTC days, as ranges on the column itself so the registry index serves them.
    if query.published_from:
        qs = qs.filter(published_at__gte=_utc_midnight(query.published_from))
    if query.published_to:
        qs = qs.filter(published_at__lt=_utc_midnight(query.published_to + dt.timedelta(days=1)))
    if query.q:
        qs = _full_text(qs, query.q, by_relevance=query.sort == "relevance")
    return qs


@dataclass(frozen=True)
class RegistryPage:
    count: int  # the number of matches, or COUNT_CAP when there are more
    count_exact: bool
    advisories: list[Advisory]


def registry_page(query: RegistryQuery) -> RegistryPage:
    """The requested page, and how many advisories match (counted up to COUNT_CAP)."""
    qs = advisory_search(query)
    start = (query.page - 1) * query.page_size
    rows = list(
        qs.only("advisory_id", "document", "reproduction_level")[start : start + query.page_size]
    )
    if len(rows) < query.page_size and (rows or start == 0):
        return RegistryPage(start + len(rows), True, rows)  # the last page: counted already
    count = qs.order_by()[: COUNT_CAP + 1].count()
    return RegistryPage(min(count, COUNT_CAP), count <= COUNT_CAP, rows)


def case_advisories(*, case: Case, access: CaseAccess) -> QuerySet[Advisory]:
    """A case's advisories as its page lists them: every one for its coordinators and
    notified vendors, the published and withdrawn ones for everyone else who sees the case."""
    qs = case.advisories.order_by("created_at", "pk")
    return qs if access.staff or access.vendor else qs.filter(state__in=PUBLIC_STATES)


def advisory_drafts_for(*, actor: Actor) -> QuerySet[Advisory]:
    """Unpublished advisories the actor may read (coordinators and the cases' vendors)."""
    return (
        Advisory.objects.restrict(actor, "view")
        .filter(state__in=[Advisory.State.DRAFT, Advisory.State.REVIEW])
        .order_by("-modified_at")
    )
