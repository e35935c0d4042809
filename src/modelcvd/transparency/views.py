"""The log's public keys at a well-known address, for monitors and verifiers."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from modelcvd.transparency.signing import published_keys


def log_keys(request: HttpRequest) -> JsonResponse:
    """/.well-known/modelcvd/log-keys.json: every signing key, oldest first, the last active."""
    return JsonResponse(
        {"log": settings.BASE_URL, "keys": [k.as_dict() for k in published_keys()]},
        json_dumps_params={"indent": 1},
    )
