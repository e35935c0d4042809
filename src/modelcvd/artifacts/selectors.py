"""Reads on artifacts (artifacts/access.py): in-scope artifacts are public, the rest only to
their coordinators."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from modelcvd.artifacts.models import Artifact
from modelcvd.core.errors import FieldError, InvalidInput

Actor = AbstractBaseUser | AnonymousUser


def artifact_list_visible(*, actor: Actor) -> QuerySet[Artifact]:
    # Artifacts first named by a report are unvetted and hint at what was reported: only
    # coordinators see them until a program puts them in scope.
    return Artifact.objects.select_related("vendor", "parent").restrict(actor, "view")


def artifact_list_filtered(
    *, actor: Actor, provider: str = "", name: str = ""
) -> QuerySet[Artifact]:
    """The artifacts `actor` may see whose provider and name contain the given text (any case;
    empty matches all), in the registry's order. Filtering the visible rows only, so a filter
    tells nobody about an artifact they may not see."""
    found = artifact_list_visible(actor=actor)
    if provider:
        found = found.filter(provider__icontains=provider)
    if name:
        found = found.filter(name__icontains=name)
    return found


def artifact_get_for(
    *, actor: Actor, artifact_id: int, action: str = "view", forbidden: str = ""
) -> Artifact:
    """The artifact if `actor` may do `action` to it; NotFound when missing or not allowed (or,
    with `forbidden`, Forbidden for an actor who may see it but not do `action`)."""
    return Artifact.objects.select_related("vendor", "parent").get_for(
        actor=actor, action=action, forbidden=forbidden, pk=artifact_id
    )


def artifact_get_visible(*, actor: Actor, artifact_id: int) -> Artifact:
    return artifact_get_for(actor=actor, artifact_id=artifact_id)


def artifact_allows(*, actor: Actor, artifact: Artifact, action: str) -> bool:
    return Artifact.objects.allows(actor, artifact, action)


def local_dir_of(artifact: Artifact, field: str) -> Path:
    """The artifact's local copy, which must lie under MODELCVD_MODEL_DIRS (`field` names the
    input that chose the artifact, for the error)."""
    if not artifact.local_dir:
        raise InvalidInput([FieldError(field, "this artifact has no local copy of its weights")])
    path = Path(artifact.local_dir).resolve()
    roots = [Path(root).resolve() for root in settings.MODEL_DIRS]
    if not any(path.is_relative_to(root) for root in roots):
        raise InvalidInput([FieldError(field, "its local copy is not under MODELCVD_MODEL_DIRS")])
    if not path.is_dir():
        raise InvalidInput([FieldError(field, "its local copy is missing on this server")])
    return path
