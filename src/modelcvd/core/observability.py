"""Request ids, structured logs and Prometheus metrics.

Every request gets an id (the client's X-Request-ID when it is sane, else a new one), returned
in the X-Request-ID header, attached to every log line written while the request runs, and
carried in the headers of every Celery task the request queues, so a worker's log lines name
the request that caused them.

Metrics use prometheus_client. Under several gunicorn workers each process writes its own
samples to PROMETHEUS_MULTIPROC_DIR (set in the environment before the process starts) and
`/metrics` adds them up; the gunicorn config in deploy/ removes a dead worker's files.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse
from kombu.exceptions import ChannelError
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from modelcvd.celery import app as celery_app

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
log = logging.getLogger("modelcvd.request")

REQUESTS = Counter(
    "modelcvd_http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "modelcvd_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TRIALS = Counter(
    "modelcvd_verification_trials_total",
    "Verification trials stored (each counted once, by the process that stored it).",
)
QUEUES = ("default", "verification", "verification-gpu")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (empty outside a request or task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    # The route pattern, not the path: ids in paths would make one series per object.
    return str(match.route) if match is not None and match.route else "<unmatched>"


class RequestIdMiddleware:
    """First in the stack: sets the request id, times the request, logs and counts it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = _route(request)
            REQUESTS.labels(request.method or "", route, str(response.status_code)).inc()
            LATENCY.labels(request.method or "", route).observe(elapsed)
            response[REQUEST_ID_HEADER] = request_id
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


# Celery: the id travels in a message header and is restored around the task.


def _before_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


_task_tokens: dict[str, contextvars.Token[str]] = {}


def _task_prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or (
        (getattr(request, "headers", None) or {}).get("request_id")
    )
    _task_tokens[task_id] = request_id_var.set(str(request_id or f"task-{task_id}"))


def _task_postrun(task_id: str = "", **_: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)


def connect_celery_signals() -> None:
    before_task_publish.connect(_before_publish, weak=False)
    task_prerun.connect(_task_prerun, weak=False)
    task_postrun.connect(_task_postrun, weak=False)


# Read at scrape time: queue depths from the broker, and the gauges the apps register (e.g. the
# recent trial rate, read from the database so it covers workers on other machines too).
_SCRAPE_GAUGES: dict[str, tuple[str, Callable[[], float]]] = {}


def scrape_gauge_register(name: str, documentation: str, read: Callable[[], float]) -> None:
    """Add a gauge read at each scrape of /metrics; an app calls this from AppConfig.ready().
    A gauge whose read fails (no database yet) is left out of that scrape."""
    _SCRAPE_GAUGES[name] = (documentation, read)


def queue_depths(timeout: int = 2) -> dict[str, int]:
    """Messages waiting in each queue; raises when the broker is unreachable."""
    depths: dict[str, int] = {}
    with celery_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        channel: Any = conn.channel()
        try:
            for queue in QUEUES:
                try:
                    depths[queue] = int(channel.queue_declare(queue=queue, passive=True)[1])
                except ChannelError:  # never declared (or empty, on Redis): nothing waits
                    depths[queue] = 0
                    channel = conn.channel()
        finally:
            channel.close()
    return depths


class ScrapeTimeCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("modelcvd_broker_up", "1 when the Celery broker answered.")
        depth = GaugeMetricFamily(
            "modelcvd_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        try:
            for queue, count in queue_depths().items():
                depth.add_metric([queue], count)
            up.add_metric([], 1)
        except Exception:  # an unreachable broker is a value, not a failed scrape
            up.add_metric([], 0)
        yield up
        yield depth
        for name, (documentation, read) in _SCRAPE_GAUGES.items():
            gauge = GaugeMetricFamily(name, documentation)
            try:
                gauge.add_metric([], read())
            except Exception:  # noqa: S112 - an unreadable gauge is left out, not a failed scrape
                continue
            yield gauge


def metrics_exposition() -> bytes:
    """The text exposition of every metric: this process's (or all processes' in multi-process
    mode) counters and histograms, then the values read at scrape time."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry()
    scrape.register(ScrapeTimeCollector())
    return body + generate_latest(scrape)
