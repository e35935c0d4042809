"""The one NinjaAPI: mounts each app's router under /api/v1 and maps errors to 4xx answers.

Every error body has `detail`; input errors add `errors: [{field, reason}]` naming each bad
field, so a client can show them next to the right input.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from modelcvd import __version__
from modelcvd.accounts.api import router as accounts_router
from modelcvd.accounts.scopes import openapi_security, operation_scopes
from modelcvd.advisories.api import router as advisories_router
from modelcvd.artifacts.api import router as artifacts_router
from modelcvd.assessments.api import router as assessments_router
from modelcvd.cases.api import router as cases_router
from modelcvd.core.errors import DomainError, IllegalTransition, InvalidInput
from modelcvd.credits.api import router as credits_router
from modelcvd.metrics.api import router as metrics_router
from modelcvd.notifications.api import router as webhooks_router
from modelcvd.optional import ExtraMissing
from modelcvd.policy.api import router as programs_router
from modelcvd.reports.api import router as reports_router
from modelcvd.reports.dedup_api import router as duplicates_router
from modelcvd.reports.forensics_api import router as forensics_router
from modelcvd.transparency.api import router as log_router
from modelcvd.verification.api import router as verification_router
from modelcvd.verification.case_api import router as case_router

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}
ERROR_STATUSES = {
    "400": "The body is not valid JSON.",
    "401": "Authentication required.",
    "403": "Authenticated, but not allowed: a missing token scope, or not the case's coordinator.",
    "404": "Not found, or not visible to the caller: the two are answered alike.",
    "413": "The request body is over the size limit.",
    "422": "Invalid input: `errors` names each field and the reason.",
}


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid onto `base`, nested dictionaries merged rather than replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merged(merged[key], value)
        merged[key] = value
    return merged


def _statuses_as_strings(responses: dict[Any, Any]) -> dict[str, Any]:
    """The responses keyed by status strings only. Ninja keys the answers it derives from
    `response=` by int, while `openapi_extra` spells them as OpenAPI does ("200"); left as they
    are, the served JSON held two "200" keys and Swagger UI refused the document (issue 17). The
    declaration in `openapi_extra` is the deliberate one, so it is laid over ninja's."""
    derived = {str(k): v for k, v in responses.items() if not isinstance(k, str)}
    declared = {k: v for k, v in responses.items() if isinstance(k, str)}
    merged = dict(derived)
    for status, answer in declared.items():
        merged[status] = _merged(merged.get(status, {}), answer)
    return merged


class ModelcvdAPI(NinjaAPI):
    """Declares the uniform error answers on every operation, so clients and schema-based
    testers know every status the API can give and the body that comes with it."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                openapi_security(operation)
                responses = _statuses_as_strings(operation.get("responses", {}))
                operation["responses"] = responses
                public = not operation.get("security")
                for status, description in ERROR_STATUSES.items():
                    if public and status in ("401", "403"):
                        continue
                    responses.setdefault(status, {"description": description, "content": ref})
        return schema


api = ModelcvdAPI(
    title="modelcvd API",
    version=__version__,
    description="Coordinated disclosure of AI model vulnerabilities. Bearer tokens (the token page "
    "`/account/tokens/`, or `modelcvd token create`) for scripts; the browser session with CSRF "
    "for the web UI. Each operation states the token scopes it needs in `x-token-scopes` and in "
    "its `BearerToken` security requirements; a token lacking one is answered 403.",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
# Every operation's declared token scopes, held in one place (accounts/scopes.py).
api.add_decorator(operation_scopes, mode="view")
for router in (
    reports_router,
    cases_router,
    case_router,
    programs_router,
    artifacts_router,
    forensics_router,
    accounts_router,
    verification_router,
    metrics_router,
    assessments_router,
    credits_router,
    webhooks_router,
    duplicates_router,
    advisories_router,
    log_router,
):
    api.add_router("/v1", router)

# Names of the function parameters that carry the body; stripped from error locations.
_BODY_PARAMS = {"body", "document"}


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    if parts and parts[0] in _BODY_PARAMS:
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "missing":
            reason = "field required"
        errors.append({"field": _field_of(list(err.get("loc", []))), "reason": reason})
    return api.create_response(request, {"detail": "invalid input", "errors": errors}, status=422)


@api.exception_handler(IllegalTransition)
def _conflict(request: HttpRequest, exc: IllegalTransition) -> HttpResponse:
    body = {"detail": exc.message, "current": exc.current, "allowed": exc.allowed}
    return api.create_response(request, body, status=409)


@api.exception_handler(InvalidInput)
def _invalid(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    body = {
        "detail": exc.message,
        "errors": [{"field": e.field, "reason": e.reason} for e in exc.errors],
    }
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(DomainError)
def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


@api.exception_handler(ExtraMissing)
def _extra_missing(request: HttpRequest, exc: ExtraMissing) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "authentication required"}, status=401)


@api.exception_handler(HttpError)
def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
