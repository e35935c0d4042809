"""Request-level guards: body size before any parsing, and security headers on every answer;
a page whose feature needs an uninstalled extra answers 503."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from modelcvd.core.jsonbounds import json_too_deep, nul_path
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


# Bodies Django parses itself; every other body may reach a JSON parser (ninja reads JSON
# whatever the declared type).
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _invalid(status: int, detail: str, field: str, reason: str) -> JsonResponse:
    return JsonResponse(
        {"detail": detail, "errors": [{"field": field, "reason": reason}]}, status=status
    )


class NulCharacterMiddleware:
    """Refuse JSON bodies nested deeper than MAX_JSON_DEPTH (400) or whose strings hold NUL
    characters, naming the field (422), before any view parses them.

    Depth: the parser and every walk over its result recurse per level, so a deep body would
    end in RecursionError (500); core.jsonbounds measures it without recursion. NUL:
    PostgreSQL text cannot store it and SQLite silently can, so one clear answer on every
    database, instead of a 500 on one of them. HTML forms get the NUL answer from Django's own
    ProhibitNullCharactersValidator.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.content_type in _FORM_TYPES or request.method in ("GET", "HEAD"):
            return self.get_response(request)
        body = request.body
        limit = settings.MAX_JSON_DEPTH
        if json_too_deep(body, limit):
            return _invalid(
                400, "JSON nested too deeply", "body", f"nested deeper than {limit} levels"
            )
        if b"\\u0000" in body:
            try:
                field = nul_path(json.loads(body))
            except ValueError:
                field = None  # not valid JSON: the API answers 400 for that
            if field is not None:
                return _invalid(
                    422, "invalid input", field or "body", "must not contain NUL characters"
                )
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
