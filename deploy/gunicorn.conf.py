"""gunicorn settings for modelcvd (docs/deploy.md): `gunicorn -c deploy/gunicorn.conf.py
modelcvd.wsgi:application`. Override any of these on the command line (--bind, --workers)."""

import os

bind = os.environ.get("MODELCVD_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounds the memory any leak can take.
max_requests = 5000
max_requests_jitter = 500
# modelcvd logs each request itself (JSON, with the request id); gunicorn logs errors only.
accesslog = None
errorlog = "-"
# Send X-Forwarded-Proto from the proxy only; gunicorn trusts it from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """A dead worker's live gauges must not be summed any more."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
