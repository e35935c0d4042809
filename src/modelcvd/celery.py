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
