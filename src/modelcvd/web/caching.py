"""HTTP caching of the public registry: strong validators from the published revision,
conditional GET, and Cache-Control a CDN in front of the instance may follow.

A view says how to name the version of what it would answer with a cheap `Validators`
function (one indexed read of a timestamp, never a render): for an anonymous reader, a matching
If-None-Match (or, without one, an If-Modified-Since not older than the revision) is answered
304 before the view runs, so the 304 path skips rendering and the document queries. Anything
else runs the view and gets the validators and `public, max-age, s-maxage,
stale-while-revalidate`.

A reader who may see more than the public level (a session or an Authorization header) gets
neither validators nor a shareable response: `private, no-store`. Every answer varies on
Cookie and Authorization, so a shared cache never hands a body across the two.

Works on plain Django views and on ninja operations: a ninja operation whose handler takes a
`response: HttpResponse` argument gets the headers through it (ninja copies them to what it
renders); a 304 is returned as an HttpResponse, which ninja passes through unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from modelcvd.version import __version__

F = TypeVar("F", bound=Callable[..., Any])

# Modest lifetimes: a browser keeps an answer a minute, a CDN five, and may serve a stale one
# for ten more while it revalidates (RFC 5861). A new revision reaches every reader within
# s-maxage + stale-while-revalidate.
MAX_AGE = 60
SHARED_MAX_AGE = 300
STALE_WHILE_REVALIDATE = 600
VARY = ("Cookie", "Authorization")


@dataclass(frozen=True)
class Validators:
    """The version of a representation: a strong ETag (quoted) and when it last changed."""

    etag: str
    last_modified: dt.datetime | None = None
    # Remembered by the process rather than read just now (advisories/caching.py): good for
    # deciding a 304, named afresh before a body is sent.
    remembered: bool = False


def validators_for(*parts: object, last_modified: dt.datetime | None = None) -> Validators:
    """Validators naming a representation by what it is built from (route, ids, revision
    stamp, format, query): the same parts and release give the same bytes, so the tag is
    strong. The release is part of it: an upgrade may render differently."""
    key = "\x1f".join(str(p) for p in (__version__, *parts))
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Validators(etag=f'"{digest}"', last_modified=last_modified)


def is_public_reader(request: HttpRequest) -> bool:
    """Nobody signed in and no credential sent: the reader can only ever get the public level,
    so the answer may be shared."""
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def _apply(response: HttpResponseBase, found: Validators | None) -> None:
    if found is not None:
        response["ETag"] = found.etag
        if found.last_modified is not None:
            response["Last-Modified"] = http_date(found.last_modified.timestamp())


def _public(response: HttpResponseBase) -> None:
    patch_cache_control(
        response,
        public=True,
        max_age=MAX_AGE,
        s_maxage=SHARED_MAX_AGE,
        stale_while_revalidate=STALE_WHILE_REVALIDATE,
    )


def _private(response: HttpResponseBase) -> None:
    patch_cache_control(response, private=True, no_store=True)


def registry_cached(validators: Callable[..., Validators | None]) -> Callable[[F], F]:
    """Cache a public registry view (module docstring). `validators(request, *args, fresh=...,
    **kwargs)` names the version the view would answer with, or None when there is none to
    name (a missing or unpublished advisory: the view runs and answers as it does); with
    `fresh=False` it may answer from what it remembers (`Validators.remembered`), which only
    ever decides a 304."""

    def decorate(view: F) -> F:
        @wraps(view)
        def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            holder: HttpResponseBase | None = kwargs.get("response")
            if not is_public_reader(request):
                result = view(request, *args, **kwargs)
                target = result if isinstance(result, HttpResponseBase) else holder
                if target is not None:
                    _private(target)
                    patch_vary_headers(target, VARY)
                return result
            found = validators(request, *args, fresh=False, **kwargs)
            result = None
            if found is not None:
                timestamp = int(found.last_modified.timestamp()) if found.last_modified else None
                result = get_conditional_response(request, etag=found.etag, last_modified=timestamp)
            if result is None:
                if found is not None and found.remembered:
                    found = validators(request, *args, fresh=True, **kwargs)  # a body: afresh
                result = view(request, *args, **kwargs)
            target = result if isinstance(result, HttpResponseBase) else holder
            if target is not None:
                if target.status_code in (200, 304):
                    _apply(target, found)
                    _public(target)
                patch_vary_headers(target, VARY)
            return result

        return cached  # type: ignore[return-value]

    return decorate


def content_cached(view: F) -> F:
    """For a small public page rendered from settings and a few rows (security.txt, the program
    pages, whose rows keep no modification time): the tag is the digest of the rendered bytes.
    It still renders, but a 304 sends no body."""

    @wraps(view)
    def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        found = validators_for("content", hashlib.sha256(response.content).hexdigest())
        conditional = get_conditional_response(request, etag=found.etag)
        if conditional is not None:
            response = conditional
        _apply(response, found)
        if is_public_reader(request):
            _public(response)
        else:
            _private(response)
        patch_vary_headers(response, VARY)
        return response

    return cached  # type: ignore[return-value]
