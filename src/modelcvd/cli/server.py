"""`modelcvd serve`, `worker`, `migrate`, `demo` and `status`: running the platform."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from modelcvd.cli.base import Command, Output, setup_django
from modelcvd.cli.errors import CliError, Exit


def _worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    parser.add_argument(
        "--queues",
        default="default,verification",
        help="comma-separated queues the worker takes jobs from (default: %(default)s)",
    )
    parser.add_argument(
        "--loglevel", default="warning", help="Celery log level (default: %(default)s)"
    )


def _address_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )


def _base_url_default(host: str, port: int) -> None:
    """Links rendered outside a request (mail, Atom entries, security.txt, exports) use
    MODELCVD_BASE_URL; when it is not set, make it where this server listens, for this process
    and the ones it starts, instead of settings' 127.0.0.1:8000. Set before Django reads its
    settings. A wildcard address is reached on the loopback address."""
    if os.environ.get("MODELCVD_BASE_URL"):
        return
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - reading the address, not binding to it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    os.environ["MODELCVD_BASE_URL"] = f"http://{host}:{port}"


def _worker_argv(args: argparse.Namespace, queues: str | None = None) -> list[str]:
    queues = queues or args.queues
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "modelcvd.celery",
        "worker",
        "--loglevel",
        args.loglevel,
        "--concurrency",
        str(args.concurrency),
        "-Q",
        queues,
    ]
    if queues != args.queues:  # one of several workers of this server: each needs its name
        argv += ["-n", f"{queues.replace(',', '-')}@%h"]
    return argv


def _worker_groups(queues: str) -> list[str]:
    """The workers `serve` starts: verification runs take minutes on a CPU, so they get a
    worker of their own and mail, webhooks and imports on `default` never wait behind them."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    slow = [q for q in names if q.startswith("verification")]
    rest = [q for q in names if q not in slow]
    return [",".join(group) for group in (rest, slow) if group]


def _broker_label() -> str:
    setup_django()
    from django.conf import settings

    url: str = settings.CELERY_BROKER_URL
    return url.split("@")[-1] if "@" in url else url


def _serve(host: str, port: int, workers: int, worker_args: argparse.Namespace, out: Output) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "modelcvd.settings"}
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "modelcvd.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]
    groups = _worker_groups(worker_args.queues)
    procs = [subprocess.Popen(web, env=env)] + [
        subprocess.Popen(_worker_argv(worker_args, group), env=env) for group in groups
    ]
    banner = (
        f"modelcvd is serving on http://{host}:{port}/ "
        f"(workers for {' | '.join(groups)} on {_broker_label()}). Ctrl-C stops."
    )
    # After `demo --json` stdout holds one JSON document; the banner must not follow it there.
    (out.note if out.json else out.text)(banner)

    def stop(*_: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # If either process dies, stop the other: half a platform is worse than none.
    while all(p.poll() is None for p in procs):
        with contextlib.suppress(subprocess.TimeoutExpired):
            procs[0].wait(timeout=1)
    stop()
    codes = [p.wait() for p in procs]
    return max(abs(c) for c in codes) if any(c not in (0, -15) for c in codes) else 0


class Serve(Command):
    name = "serve"
    help = "Run the web server and a Celery worker beside it."

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        _address_options(parser)
        parser.add_argument(
            "--workers", type=int, default=2, help="web processes (default: %(default)s)"
        )
        parser.add_argument(
            "--production",
            action="store_true",
            help="refuse to start with embedded-only settings (default key, SQLite, key file)",
        )
        _worker_options(parser)

    def run(self, args: argparse.Namespace, out: Output) -> int:
        _base_url_default(args.host, args.port)
        if args.production:
            # Set before Django starts here and in the child processes, which inherit it: each
            # refuses to start with an embedded-only setting (core.apps.CoreConfig.ready).
            os.environ["MODELCVD_PRODUCTION"] = "1"
            setup_django()
        return _serve(args.host, args.port, args.workers, args, out)


class Worker(Command):
    name = "worker"
    help = "Run a Celery worker."

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        _worker_options(parser)

    def run(self, args: argparse.Namespace, out: Output) -> int:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
        os.execv(sys.executable, _worker_argv(args))  # noqa: S606 - replaces this process on purpose
        return 0  # pragma: no cover


class Migrate(Command):
    name = "migrate"
    help = "Create or upgrade the database schema."
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="print nothing but errors")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.core.management import call_command

        call_command("migrate", "--noinput", *(["-v", "0"] if args.quiet else []))


def _production_mode() -> bool:
    """MODELCVD_PRODUCTION as settings.py reads it, known before Django is set up."""
    return os.environ.get("MODELCVD_PRODUCTION", "").strip().lower() in {"1", "true", "yes", "on"}


DEMO_REFUSED = CliError(
    Exit.REFUSED,
    "demo refuses to run in production mode (MODELCVD_PRODUCTION is set): it loads accounts "
    "with a published password",
    "run the demo on an embedded instance with its own MODELCVD_DATA_DIR",
)


class Demo(Command):
    name = "demo"
    help = "Migrate, load demo data (idempotent) and serve; refused in production mode."
    prints_data = True
    # Set up in run(), after the production check: a production instance must hear "refused"
    # whatever else its settings say.
    uses_database = False

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="load the data and exit")
        parser.add_argument(
            "--no-model",
            action="store_true",
            help="leave out the case with a real verification run on SmolLM2-135M-Instruct",
        )
        _address_options(parser)
        _worker_options(parser)

    def run(self, args: argparse.Namespace, out: Output) -> int:
        if _production_mode():
            raise DEMO_REFUSED
        _base_url_default(args.host, args.port)
        setup_django()
        from django.conf import settings
        from django.core.management import call_command

        from modelcvd.demo import DEMO_PASSWORD, demo_load

        if settings.PRODUCTION:
            raise DEMO_REFUSED
        call_command("migrate", "--noinput", "-v", "0")
        summary = demo_load(model_run=not args.no_model)
        url = f"http://{args.host}:{args.port}/"
        lines = [
            f"Demo data: {summary.created} objects created "
            f"({'first run' if summary.created else 'already loaded'}).",
            f"Open {url} and sign in with any of these (password: {DEMO_PASSWORD}):",
            *(f"  {username:<12} {role}" for username, role in summary.accounts),
            "Staff (triager, admin) also use a second factor: at their first sign-in a page shows "
            "a QR code to add to any TOTP authenticator app, then asks for its 6-digit code.",
        ]
        out.data(
            {
                "created": summary.created,
                "url": url,
                "password": DEMO_PASSWORD,
                "accounts": [{"username": u, "role": r} for u, r in summary.accounts],
            },
            "\n".join(lines),
        )
        if args.no_serve:
            return 0
        sys.stdout.flush()
        return _serve(args.host, args.port, 1, args, out)


class Status(Command):
    name = "status"
    help = "Show database, broker, key and data status; exit 1 when the database is not ok."
    prints_data = True
    uses_database = True

    def run(self, args: argparse.Namespace, out: Output) -> int:
        from modelcvd.core.status import platform_status

        status = platform_status()
        out.data(status, "\n".join(f"{key:<22} {value}" for key, value in status.items()))
        return 0 if status["database"] == "ok" else 1


COMMANDS: list[type[Command]] = [Serve, Worker, Migrate, Demo, Status]
