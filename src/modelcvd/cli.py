"""The `modelcvd` command. Each subcommand is a thin call into a service; Django is set up only
for the subcommands that touch the database, so `submit` works from any machine."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A failure to report as one line on stderr, with a non-zero exit."""


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    _django()
    from django.core.management import call_command

    call_command(*args)


def cmd_migrate(args: argparse.Namespace) -> int:
    _manage("migrate", "--noinput", *(["-v", "0"] if args.quiet else []))
    return 0


def _worker_argv(args: argparse.Namespace) -> list[str]:
    return [
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
        args.queues,
    ]


def cmd_worker(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    os.execv(sys.executable, _worker_argv(args))  # noqa: S606 - replaces this process on purpose
    return 0  # pragma: no cover


def _serve(host: str, port: int, workers: int, worker_args: argparse.Namespace) -> int:
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
    procs = [subprocess.Popen(web, env=env), subprocess.Popen(_worker_argv(worker_args), env=env)]
    print(
        f"modelcvd is serving on http://{host}:{port}/ (worker on {_broker_label()}). Ctrl-C stops.",
        flush=True,
    )

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


def _broker_label() -> str:
    _django()
    from django.conf import settings

    url: str = settings.CELERY_BROKER_URL
    return url.split("@")[-1] if "@" in url else url


def cmd_serve(args: argparse.Namespace) -> int:
    if args.production:
        # Set before Django starts here and in the child processes, which inherit it: each
        # refuses to start with an embedded-only setting (core.apps.CoreConfig.ready).
        os.environ["MODELCVD_PRODUCTION"] = "1"
        try:
            _django()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
    return _serve(args.host, args.port, args.workers, args)


def cmd_demo(args: argparse.Namespace) -> int:
    _manage("migrate", "--noinput", "-v", "0")
    from modelcvd.demo import DEMO_PASSWORD, demo_load

    summary = demo_load(model_run=not args.no_model)
    print(
        f"Demo data: {summary.created} objects created ({'first run' if summary.created else 'already loaded'})."
    )
    print(
        f"Open http://{args.host}:{args.port}/ and sign in with any of these (password: {DEMO_PASSWORD}):"
    )
    for username, role in summary.accounts:
        print(f"  {username:<12} {role}")
    print(
        "Staff (triager, admin) also use a second factor: at their first sign-in a page shows a "
        "secret to add to any TOTP authenticator app, then asks for its 6-digit code."
    )
    if args.no_serve:
        return 0
    return _serve(args.host, args.port, 1, args)


def cmd_createadmin(args: argparse.Namespace) -> int:
    _django()
    import getpass

    from django.db import transaction

    from modelcvd.accounts.models import Role
    from modelcvd.accounts.selectors import user_by_username
    from modelcvd.accounts.services import membership_grant, user_create

    password = os.environ.get("MODELCVD_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < 10:
        raise CommandError("the password must have at least 10 characters")
    if user_by_username(args.username):
        raise CommandError(f"user {args.username!r} exists already")
    with transaction.atomic():
        user = user_create(username=args.username, password=password, email=args.email)
        membership_grant(user=user, role=Role.ADMIN, organisation=None, actor=None)
    print(f"administrator {args.username} created")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    _django()
    from datetime import timedelta

    from modelcvd.accounts.selectors import user_by_username
    from modelcvd.accounts.services import token_create
    from modelcvd.core.errors import InvalidInput

    user = user_by_username(args.username)
    if user is None:
        raise CommandError(f"no user {args.username!r}")
    try:
        _, secret = token_create(
            user=user,
            scopes=args.scope,
            name=args.name,
            expires_in=timedelta(days=args.days) if args.days else None,
        )
    except InvalidInput as exc:
        raise CommandError("; ".join(f"{e.field}: {e.reason}" for e in exc.errors)) from None
    print(secret)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    import time
    import uuid

    import httpx
    import yaml

    path = Path(args.file)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CommandError(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    url = args.server.rstrip("/") + "/api/v1/reports"
    # One key for every attempt: a retry after a timeout returns the report the first attempt
    # made, if it got through, instead of filing it twice.
    headers = {"Authorization": f"Bearer {args.token}", "Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(3):
        try:
            response = httpx.post(url, json=document, headers=headers, timeout=30)
            break
        except httpx.TransportError as exc:
            if attempt == 2 or isinstance(exc, httpx.ConnectError):
                raise CommandError(f"cannot reach {url}: {exc}") from None
            time.sleep(2**attempt)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CommandError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 201:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        errors = "; ".join(f"{e['field']}: {e['reason']}" for e in body.get("errors", []))
        raise CommandError(
            f"server answered {response.status_code}: {body.get('detail')}{' - ' + errors if errors else ''}"
        )
    created = response.json()
    print(
        f"report #{created['id']} submitted; case #{created['case_id']} ({created['case_state']})"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.core.status import platform_status

    status = platform_status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        for key, value in status.items():
            print(f"{key:<22} {value}")
    return 0 if status["database"] == "ok" else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.core.audit import audit_verify

    verdict = audit_verify()
    if verdict.ok:
        print(f"audit chain intact: {verdict.checked} events")
        return 0
    raise CommandError(f"audit chain broken at event #{verdict.broken_seq}: {verdict.problem}")


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.core.keys import keys_rotate

    result = keys_rotate(batch_size=args.batch_size, resume=not args.new_key)
    print(
        f"active key {result.active}: {result.rewrapped} data keys re-wrapped, {result.remaining} left"
    )
    return 0


def cmd_keys_retire(args: argparse.Namespace) -> int:
    _django()
    from django.core.exceptions import ImproperlyConfigured

    from modelcvd.core.sealing import keyring_retire

    try:
        keyring_retire(args.kek_id)
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
    print(f"{args.kek_id} retired")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.core.backup import BackupError, backup_create

    try:
        manifest = backup_create(Path(args.out))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    rows = sum(m["rows"] for m in manifest["members"].values())
    print(
        f"backup written to {args.out}: {rows} rows in {len(manifest['members'])} tables, "
        f"{len(manifest['keys'])} key fingerprint(s); the keys themselves are not in it"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.core.backup import BackupError, backup_restore

    try:
        result = backup_restore(Path(args.archive), force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored {result.rows} rows in {result.tables} tables from {args.archive}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from modelcvd.reports.document import report_json_schema

    print(json.dumps(report_json_schema(), indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelcvd", description="Coordinated disclosure of AI model vulnerabilities."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=handler)
        return p

    def worker_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1)")
        p.add_argument(
            "--queues",
            default="default,verification",
            help="comma-separated queues (default: default,verification)",
        )
        p.add_argument("--loglevel", default="warning")

    p = add("serve", cmd_serve, "Run the web server and a Celery worker beside it.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="web processes (default 2)")
    p.add_argument("--production", action="store_true", help="refuse embedded-only settings")
    worker_options(p)

    p = add("worker", cmd_worker, "Run a Celery worker.")
    worker_options(p)

    p = add("migrate", cmd_migrate, "Create or upgrade the database schema.")
    p.add_argument("--quiet", action="store_true")

    p = add("demo", cmd_demo, "Migrate, load demo data (idempotent) and serve.")
    p.add_argument("--no-serve", action="store_true", help="load the data and exit")
    p.add_argument(
        "--no-model",
        action="store_true",
        help="leave out the case with a real verification run on SmolLM2-135M-Instruct",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    worker_options(p)

    p = add(
        "createadmin",
        cmd_createadmin,
        "Create an administrator (password from MODELCVD_ADMIN_PASSWORD or a prompt).",
    )
    p.add_argument("username")
    p.add_argument("--email", default="")

    token = add("token", lambda a: 2, "Manage API tokens.")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p = token_sub.add_parser(
        "create", help="Print a new API token for USERNAME.", description="Print a new API token."
    )
    p.add_argument("username")
    p.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=["read", "submit", "triage", "admin"],
        help="repeat for several scopes",
    )
    p.add_argument("--name", default="")
    p.add_argument("--days", type=int, default=90, help="expiry in days; 0 for none (default 90)")
    p.set_defaults(func=cmd_token_create)

    p = add("submit", cmd_submit, "Submit a report file (YAML or JSON) to a server.")
    p.add_argument("file")
    p.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    p.add_argument(
        "--token",
        default=os.environ.get("MODELCVD_TOKEN"),
        required="MODELCVD_TOKEN" not in os.environ,
        help="API token with the submit scope (or MODELCVD_TOKEN)",
    )

    p = add("status", cmd_status, "Show database, broker, key and data status.")
    p.add_argument("--json", action="store_true")

    audit = add("audit", lambda a: 2, "Audit log commands.")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = audit_sub.add_parser(
        "verify", help="Check the whole hash chain.", description="Check the whole hash chain."
    )
    p.set_defaults(func=cmd_audit_verify)

    keys = add("keys", lambda a: 2, "Key-encryption key commands.")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser(
        "rotate",
        help="Re-wrap every data key under a new KEK (resumable).",
        description="Re-wrap every data key under a new KEK; rerun to resume.",
    )
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument(
        "--new-key", action="store_true", help="start a new rotation even if one is unfinished"
    )
    p.set_defaults(func=cmd_keys_rotate)

    p = add(
        "backup",
        cmd_backup,
        "Write the database (sealed data included) and key fingerprints to a tar archive.",
    )
    p.add_argument("out", help="a new file; .tar.gz compresses")

    p = add(
        "restore",
        cmd_restore,
        "Restore a backup into this instance (checks hashes and the key file first).",
    )
    p.add_argument("archive")
    p.add_argument(
        "--force", action="store_true", help="replace the data of a database that is not empty"
    )

    p = add("schema", cmd_schema, "Print the JSON Schema of the report format.")
    p.add_argument("name", choices=["report"])

    p = keys_sub.add_parser(
        "retire",
        help="Drop an old KEK once nothing is wrapped by it.",
        description="Drop an old KEK once nothing is wrapped by it.",
    )
    p.add_argument("kek_id")
    p.set_defaults(func=cmd_keys_retire)

    for extension in (
        "modelcvd.verification.commands",
        "modelcvd.artifacts.commands",
        "modelcvd.metrics.commands",
        "modelcvd.advisories.commands",
    ):
        try:
            spec = importlib.util.find_spec(extension)
        except ModuleNotFoundError:  # the parent package is not installed
            spec = None
        if spec is not None:
            importlib.import_module(extension).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except CommandError as exc:
        print(f"modelcvd {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one-line promise holds for surprises too
        if os.environ.get("MODELCVD_DEBUG"):
            raise
        print(f"modelcvd {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
