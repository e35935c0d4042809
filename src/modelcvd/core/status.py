"""What `modelcvd status` reports: is each part of the platform there and reachable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from modelcvd.celery import app as celery_app
from modelcvd.version import __version__

# What each app counts in the status ("reports": 12), filled by the apps' AppConfig.ready(), so
# the kernel reports on the domain without importing it. (This module is imported by apps.py
# files, before models may be: models are looked up through the app registry.)
_COUNTS: dict[str, Callable[[], int]] = {}


def status_count_register(name: str, count: Callable[[], int]) -> None:
    """Add a count to `modelcvd status`; an app calls this from its AppConfig.ready()."""
    _COUNTS[name] = count


def platform_status() -> dict[str, Any]:
    status: dict[str, Any] = {"version": __version__}
    db = settings.DATABASES["default"]
    status["database_engine"] = db["ENGINE"].rsplit(".", 1)[-1]
    status["database_name"] = str(db["NAME"])
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        status["database"] = "ok"
        status["pending_migrations"] = len(pending)
    except Exception as exc:
        status["database"] = f"unreachable: {exc}"
        return status
    if not pending:
        for name, count in _COUNTS.items():
            status[name] = count()
        status["audit_events"] = apps.get_model("core", "AuditEvent").objects.count()
    broker = settings.CELERY_BROKER_URL
    status["broker"] = broker.split("@")[-1] if "@" in broker else broker
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        status["broker_reachable"] = "ok"
    except Exception as exc:
        status["broker_reachable"] = f"unreachable: {exc}"
    status["key"] = (
        "environment"
        if settings.KEK_ENV
        else (
            f"file {settings.KEY_FILE}"
            if settings.KEY_FILE.exists()
            else "missing (created on first seal)"
        )
    )
    return status
