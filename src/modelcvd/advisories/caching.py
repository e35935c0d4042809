"""The registry's HTTP validators (web/caching.py): each names the version a public route would
answer with from the published revision alone, one indexed read and no render.

An advisory's routes are named by its id, the time of its newest revision (every revision sets
`modified_at`) and its state; the routes over the whole registry (list, feed, JSON Lines
mirror, OSV dump) by the registry's newest revision, plus the query for a search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest

from modelcvd.advisories.selectors import advisory_public_stamp, registry_public_stamp
from modelcvd.web.caching import Validators, registry_cached, validators_for

Named = Callable[..., Validators | None]


def advisory_validators(route: str, *, id_prefix: str = "") -> Named:
    """Validators of one advisory's route (`fmt`, when the route has one, is part of it);
    `id_prefix` is what the route's id carries before the advisory id (OSV's "x_")."""

    def named(request: HttpRequest, advisory_id: str, **kwargs: Any) -> Validators | None:
        if not advisory_id.startswith(id_prefix):
            return None
        stamp = advisory_public_stamp(advisory_id=advisory_id[len(id_prefix) :])
        if stamp is None:
            return None  # missing or unpublished: the view answers as it does, uncached
        modified, state = stamp
        return validators_for(
            route,
            advisory_id,
            modified.isoformat(),
            state,
            kwargs.get("fmt", ""),
            last_modified=modified,
        )

    return named


def registry_validators(route: str, *, query: bool = False) -> Named:
    """Validators of a route over the whole registry; with `query`, of one search of it."""

    def named(request: HttpRequest, *args: Any, **kwargs: Any) -> Validators:
        newest, at = registry_public_stamp()
        asked = urlencode(sorted(request.GET.lists()), doseq=True) if query else ""
        return validators_for(route, newest, asked, last_modified=at)

    return named


def advisory_cached(route: str, *, id_prefix: str = "") -> Callable[[Any], Any]:
    return registry_cached(advisory_validators(route, id_prefix=id_prefix))


def registry_wide_cached(route: str, *, query: bool = False) -> Callable[[Any], Any]:
    return registry_cached(registry_validators(route, query=query))
