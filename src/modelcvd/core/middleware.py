"""Request-level guards: body size before any parsing, and security headers on every answer;
a page whose feature needs an uninstalled extra answers 503."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from modelcvd.optional import ExtraMissing

# No inline script or style anywhere in the UI, so the policy can forbid both.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class BodySizeLimitMiddleware:
    """Answer 413 for a declared body over MAX_REQUEST_BYTES, before Django reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number"}, status=400)
        if length > settings.MAX_REQUEST_BYTES:
            return JsonResponse(
                {
                    "detail": f"request body of {length} bytes exceeds the limit of {settings.MAX_REQUEST_BYTES}"
                },
                status=413,
            )
        return self.get_response(request)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key}".strip(".")
        found = _nul_path(item, f"{path}.{key}".strip("."))
        if found is not None:
            return found
    return None


class NulCharacterMiddleware:
    """Refuse JSON bodies whose strings hold NUL characters, naming the field (422).

    PostgreSQL text cannot store NUL and SQLite silently can: one clear answer on every
    database, instead of a 500 on one of them. HTML forms get the same from Django's own
    ProhibitNullCharactersValidator.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.content_type == "application/json" and b"\\u0000" in request.body:
            try:
                field = _nul_path(json.loads(request.body))
            except ValueError:
                field = None  # not valid JSON: the API answers 400 for that
            if field is not None:
                error = {"field": field or "body", "reason": "must not contain NUL characters"}
                return JsonResponse({"detail": "invalid input", "errors": [error]}, status=422)
        return self.get_response(request)


class ExtraMissingMiddleware:
    """A page whose feature needs an uninstalled extra answers 503 naming the extra to install
    (the API maps the same error in api.py; the CLI prints it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ExtraMissing):
            return None
        body = (
            "<!doctype html><title>Not available on this server</title>"
            f"<h1>Not available on this server</h1><p>{escape(exception.message)}</p>"
        )
        return HttpResponse(body, status=exception.status)
