"""The Celery app. Embedded default: a SQLite broker (sqla+sqlite) beside the server; at scale
CELERY_BROKER_URL points at Redis. Tasks take ids and call a service."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")

app = Celery("modelcvd")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_ignore_result = True
app.autodiscover_tasks()

# Periodic work, run by the one `celery beat` of an installation (docs/deploy.md).
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "verification-resume-stalled": {
        "task": "modelcvd.verification.tasks.resume_stalled_runs",
        "schedule": 60.0,
    },
    # Flag breached case deadlines and escalate each breach level once.
    "check-deadlines": {"task": "modelcvd.notifications.tasks.check_deadlines", "schedule": 300.0},
    # Embargoes whose public date has come exit.
    "expire-embargoes": {
        "task": "modelcvd.notifications.tasks.expire_embargoes",
        "schedule": 300.0,
    },
}
