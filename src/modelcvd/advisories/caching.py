"""The registry's HTTP validators (web/caching.py): each names the version a public route would
answer with from the published revision alone, one indexed read and no render.

An advisory's routes are named by its id, the time of its newest revision (every revision sets
`modified_at`) and its state; the routes over the whole registry (list, feed, JSON Lines
mirror, OSV dump) by the registry's newest revision, plus the query for a search.

A conditional GET of an advisory may be answered 304 without any read: each process remembers
the advisories' stamps for one generation of the registry (its newest revision id), which it
reads again at most every REGISTRY_VALIDATOR_TTL seconds. Every change to a public advisory
adds a revision (publication, public edit, withdrawal), so a changed generation forgets them
all; a revalidating reader sees a new revision at most that late, well within the max-age
every answer already allows. A body is always sent with validators read afresh.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from modelcvd.advisories.selectors import advisory_public_stamp, registry_public_stamp
from modelcvd.web.caching import Validators, registry_cached, validators_for

Named = Callable[..., Validators | None]
Stamp = tuple[dt.datetime, str] | None
# Remembered stamps per process; past this many they are forgotten at once (about 200 bytes
# each).
REMEMBER_AT_MOST = 200_000


class _Remembered:
    """Advisory stamps of one registry generation (module docstring)."""

    def __init__(self) -> None:
        self.generation: tuple[int, dt.datetime | None] | None = None
        self.checked = 0.0
        self.stamps: dict[str, Stamp] = {}

    def stamp(self, advisory_id: str) -> tuple[Stamp, bool]:
        """(stamp, remembered): from memory while the generation holds, else read."""
        if settings.REGISTRY_VALIDATOR_TTL <= 0:
            return advisory_public_stamp(advisory_id=advisory_id), False
        now = time.monotonic()
        if now - self.checked >= settings.REGISTRY_VALIDATOR_TTL:
            # The newest revision's id and time: ids alone could repeat after a rollback.
            generation = registry_public_stamp()
            if generation != self.generation or len(self.stamps) > REMEMBER_AT_MOST:
                self.stamps = {}
                self.generation = generation
            self.checked = now
        if advisory_id in self.stamps:
            return self.stamps[advisory_id], True
        found = advisory_public_stamp(advisory_id=advisory_id)
        self.stamps[advisory_id] = found
        return found, False


_remembered = _Remembered()


def advisory_validators(route: str, *, id_prefix: str = "") -> Named:
    """Validators of one advisory's route (`fmt`, when the route has one, is part of it);
    `id_prefix` is what the route's id carries before the advisory id (OSV's "x_")."""

    def named(
        request: HttpRequest, advisory_id: str, *, fresh: bool = True, **kwargs: Any
    ) -> Validators | None:
        if not advisory_id.startswith(id_prefix):
            return None
        plain = advisory_id[len(id_prefix) :]
        if fresh:
            stamp, remembered = advisory_public_stamp(advisory_id=plain), False
            _remembered.stamps[plain] = stamp
        else:
            stamp, remembered = _remembered.stamp(plain)
        if stamp is None:
            return None  # missing or unpublished: the view answers as it does, uncached
        modified, state = stamp
        found = validators_for(
            route,
            advisory_id,
            modified.isoformat(),
            state,
            kwargs.get("fmt", ""),
            last_modified=modified,
        )
        return Validators(found.etag, found.last_modified, remembered=remembered)

    return named


def registry_validators(route: str, *, query: bool = False) -> Named:
    """Validators of a route over the whole registry; with `query`, of one search of it."""

    def named(request: HttpRequest, *args: Any, fresh: bool = True, **kwargs: Any) -> Validators:
        newest, at = registry_public_stamp()
        asked = urlencode(sorted(request.GET.lists()), doseq=True) if query else ""
        return validators_for(route, newest, asked, last_modified=at)

    return named


def advisory_cached(route: str, *, id_prefix: str = "") -> Callable[[Any], Any]:
    return registry_cached(advisory_validators(route, id_prefix=id_prefix))


def registry_wide_cached(route: str, *, query: bool = False) -> Callable[[Any], Any]:
    return registry_cached(registry_validators(route, query=query))
