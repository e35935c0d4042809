"""Health and metrics endpoints for load balancers, orchestrators and Prometheus.

`/healthz` says the process answers (liveness: restart it when this fails). `/readyz` says it
can do its work: the database, the Celery broker and the key-encryption key are reachable
(readiness: send it no traffic while this answers 503). `/metrics` is the Prometheus text
exposition, for loopback callers or a caller with MODELCVD_METRICS_TOKEN.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from modelcvd import __version__
from modelcvd.core.observability import metrics_exposition, queue_depths
from modelcvd.core.sealing import load_keyring


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "version": __version__})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    queue_depths(timeout=2)


def _check_keys() -> None:
    ring = load_keyring(create=False)
    ring.key(ring.active)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, check in (
        ("database", _check_database),
        ("broker", _check_broker),
        ("keys", _check_keys),
    ):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
    failed = sorted(name for name, value in checks.items() if value != "ok")
    return JsonResponse(
        {"status": "fail" if failed else "ok", "failed": failed, "checks": checks},
        status=503 if failed else 200,
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    if settings.METRICS_TOKEN:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and constant_time_compare(
            header[7:], settings.METRICS_TOKEN
        )
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        # Like every refusal here: indistinguishable from a route that does not exist.
        raise Http404()
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
