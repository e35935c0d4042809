"""Probes, request ids in logs and Celery headers, and /metrics access and content."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from modelcvd.core import observability
from modelcvd.core.observability import RequestIdFilter, request_id_var


def test_healthz_answers_json(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_names_what_failed(db: None, settings: Any, tmp_path: Path) -> None:
    from modelcvd.celery import app
    from modelcvd.core.sealing import load_keyring

    load_keyring()  # the key file exists
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "failed": [],
        "checks": {"database": "ok", "broker": "ok", "keys": "ok"},
    }
    settings.KEY_FILE = tmp_path / "absent.json"
    broker = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = Client().get("/readyz")
    finally:
        app.conf.broker_url = broker
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker", "keys"]
    assert body["checks"]["database"] == "ok"
    assert "absent.json" in body["checks"]["keys"]


def test_request_id_is_echoed_generated_and_in_every_log_line(db: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s"))
    logger = logging.getLogger("modelcvd")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        sent = Client().get("/healthz", HTTP_X_REQUEST_ID="abc-123")
        made = Client().get("/healthz")
        hostile = Client().get("/healthz", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert sent["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != "x\r\nSet-Cookie: a=b"  # replaced, never reflected
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == [
        "abc-123",
        made["X-Request-ID"],
        hostile["X-Request-ID"],
    ]
    assert lines[0]["route"] == "healthz" and lines[0]["status"] == 200
    assert request_id_var.get() == ""  # reset after the request


def test_celery_messages_carry_the_request_id() -> None:
    headers: dict[str, Any] = {}
    token = request_id_var.set("req-9")
    try:
        observability._before_publish(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"request_id": "req-9"}

    class Task:
        class request:
            request_id = "req-9"

    observability._task_prerun(task_id="t1", task=Task())
    assert request_id_var.get() == "req-9"
    observability._task_postrun(task_id="t1")
    assert request_id_var.get() == ""


def test_metrics_are_restricted_and_count_requests(db: None, settings: Any) -> None:
    Client().get("/healthz")
    response = Client().get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'modelcvd_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert "modelcvd_http_request_duration_seconds_bucket" in text
    assert 'modelcvd_queue_depth{queue="verification"}' in text
    assert "modelcvd_broker_up 1.0" in text
    assert "modelcvd_verification_trials_total" in text
    assert "modelcvd_verification_trials_per_second" in text
    # Not from loopback: as if the route did not exist.
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_refuse_other_methods(db: None, path: str) -> None:
    assert Client().post(path).status_code == 405
