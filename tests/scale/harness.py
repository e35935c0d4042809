"""Real processes on real services for the scale and fault tests (tests/scale) and benches
(bench/faults.py, bench/load.py): gunicorn web processes and Celery workers in production mode
on PostgreSQL and Redis, a PostgreSQL or Redis server of our own to restart, and an
OpenAI-compatible endpoint over real HTTP for verification runs.

Nothing here is mocked: the web and worker processes are the ones `docs/deploy.md` describes,
started with the same commands; the fake endpoint is the model under test (a deterministic
stand-in for a served LLM), not a part of modelcvd.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MACHINE_PG = os.environ.get("MODELCVD_SCALE_PG", "postgres://postgres@127.0.0.1:5432")
MACHINE_REDIS = os.environ.get("MODELCVD_SCALE_REDIS", "redis://127.0.0.1:6379")
# Our own Redis database numbers on the machine's Redis (other helpers use others).
REDIS_DB = int(os.environ.get("MODELCVD_SCALE_REDIS_DB", "9"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def wait_for(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def services_missing() -> str:
    """Why the machine's services cannot be used ('' when they can)."""
    if not port_open("127.0.0.1", 5432):
        return "PostgreSQL is not listening on 127.0.0.1:5432"
    if not port_open("127.0.0.1", 6379):
        return "Redis is not listening on 127.0.0.1:6379"
    if shutil.which("redis-server") is None or not (PG_BIN / "initdb").exists():
        return "redis-server or PostgreSQL 15's initdb is not installed"
    return ""


# ---------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A process group we started; its output goes to `log`."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait(10)
        else:
            self.kill(signal.SIGKILL)  # children of a dead leader

    def text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def json_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    lines.append(json.loads(line))
        return lines


def spawn(name: str, argv: list[str], env: dict[str, str], logdir: Path, **kw: Any) -> Proc:
    log = logdir / f"{name}.log"
    handle = log.open("ab")
    popen = subprocess.Popen(
        argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, **kw
    )
    handle.close()
    return Proc(name, popen, log)


def _run_as_postgres(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kw)


class OwnPostgres:
    """A PostgreSQL 15 server of our own in a temp dir, free to stop and restart."""

    def __init__(self) -> None:
        # In the system temp dir, not pytest's: the postgres user must reach it (pytest's
        # are 0700 and root's when the tests run as root).
        self.dir = Path(tempfile.mkdtemp(prefix="modelcvd-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        _run_as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str) -> None:
        _run_as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "server.log"),
                "-w",
                "-t",
                "60",
                *args,
            ]
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._ctl("-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server of our own; appendonly with fsync on every write, so a restart (even
    after SIGKILL) keeps every queued message."""

    def __init__(self, base: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="modelcvd-redis-", dir=base))
        self.port = free_port()
        self.proc: Proc | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ]
        self.proc = spawn("redis", argv, dict(os.environ), self.dir)
        wait_for("redis", lambda: port_open("127.0.0.1", self.port), 20)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill(signal.SIGKILL)
        self.proc.popen.wait(10)

    def destroy(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_exec(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, params or None)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description else []


# --------------------------------------------------------------------- fake LLM endpoint


@dataclass
class FakeLLM:
    """An OpenAI-compatible chat-completions server over real TCP. The answer depends on the
    request's seed only (half the seeds comply), so a trial's outcome is the same whichever
    worker asks; `delay` makes each request take a while, so a run is caught midway."""

    delay: float = 0.05
    requests: int = 0
    seeds: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def uri(self) -> str:
        assert self.httpd is not None
        return f"openai:http://127.0.0.1:{self.httpd.server_address[1]}/v1#fake-llm"

    def start(self) -> FakeLLM:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                seed = int(body.get("seed") or 0)
                with server.lock:
                    server.requests += 1
                    server.seeds.append(seed)
                time.sleep(server.delay)
                comply = hashlib.sha256(str(seed).encode()).digest()[0] % 2 == 0
                text = "Sure, here is how: step one." if comply else "I can't help with that."
                data = json.dumps(
                    {
                        "id": f"chatcmpl-{seed}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": "fake-llm",
                        "system_fingerprint": "fp_fake",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


# ------------------------------------------------------------------------------- stack


SEED_SCRIPT = """
import json, os, sys
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
from modelcvd.core.sealing import load_keyring
from tests.factories import build_world, token_for
load_keyring()
with transaction.atomic():
    world = build_world()
print(json.dumps({
    "researcher_token": token_for(world.users["researcher_a"], ["submit", "read"]),
    "researcher_b_token": token_for(world.users["researcher_b"], ["submit", "read"]),
    "triager_token": token_for(world.users["triager"], ["triage", "read"]),
    "case_id": world.cases["a"].pk,
    "artifact_id": world.artifacts["a"].pk,
    "program": world.program.slug,
}))
"""

REQUEST_RUN_SCRIPT = """
import json, sys
import django
django.setup()
from modelcvd.accounts.selectors import user_by_username
from modelcvd.verification.services import run_request
args = json.loads(sys.argv[1])
run = run_request(case_id=args["case_id"], actor=user_by_username(args["user"]),
                  artifact_id=args["artifact_id"], target=args["target"], trials=args["trials"])
print(run.pk)
"""


class Stack:
    """One modelcvd installation: a database, a broker, a key file, and the processes."""

    def __init__(
        self,
        base: Path,
        *,
        database_url: str,
        broker_url: str,
        chunk_trials: int = 20,
        visibility_timeout: int = 5,
        key_file: str = "",
    ) -> None:
        self.base = base
        self.logs = base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.broker_url = broker_url
        self.metrics_dir = base / "metrics"
        self.metrics_dir.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": ":".join(
                p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "DJANGO_SETTINGS_MODULE": "modelcvd.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "MODELCVD_DATA_DIR": str(base / "data"),
            "MODELCVD_KEY_FILE": key_file or str(base / "keys" / "kek.json"),
            # Production refuses short or example keys; this one is random per run.
            "MODELCVD_SECRET_KEY": secrets.token_urlsafe(48),
            # Plain HTTP on loopback: production refuses it unless told, and logs the override.
            "MODELCVD_ALLOW_INSECURE_HTTP": "1",
            "MODELCVD_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The fake model server listens on loopback: an internal target, listed on purpose.
            "MODELCVD_EGRESS_ALLOW": "127.0.0.0/8",
            "MODELCVD_CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "MODELCVD_VERIFICATION_CHUNK_TRIALS": str(chunk_trials),
            "MODELCVD_LOG_FORMAT": "json",
            "MODELCVD_LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "MODELCVD_TASKS_EAGER": "0",
        }
        for name in ("CI", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER"):
            self.env.pop(name, None)
        self.procs: list[Proc] = []
        self.seed: dict[str, Any] = {}
        self.web: list[tuple[Proc, str]] = []
        self.workers: list[Proc] = []

    def python(self, script: str, *args: str, production: bool = False) -> str:
        env = {**self.env, "MODELCVD_PRODUCTION": "1" if production else "0"}
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"script failed: {done.stderr[-3000:]}")
        return done.stdout

    def migrate_and_seed(self) -> dict[str, Any]:
        script = SEED_SCRIPT.replace(
            "load_keyring()\n", "load_keyring()\ncall_command('migrate', verbosity=0)\n"
        )
        self.seed = json.loads(self.python(script).strip().splitlines()[-1])
        return self.seed

    def production_env(self) -> dict[str, str]:
        return {**self.env, "MODELCVD_PRODUCTION": "1"}

    def start_web(
        self, name: str, *, workers: int = 2, port: int = 0, wait: bool = True
    ) -> tuple[Proc, str]:
        port = port or free_port()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "modelcvd.wsgi:application",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
        proc = spawn(name, argv, self.production_env(), self.logs, cwd=ROOT)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{name} exited: {proc.text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(url + "/healthz", timeout=2).status_code == 200
            return False

        if wait:
            wait_for(f"{name} to answer", ready, 90, 0.2)
        return proc, url

    def wait_web(self, url: str) -> None:
        def ready() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(url + "/healthz", timeout=2).status_code == 200
            return False

        wait_for(f"{url} to answer", ready, 90, 0.2)

    def start_worker(
        self,
        name: str,
        *,
        queues: str = "default,verification",
        concurrency: int = 1,
        wait: bool = True,
    ) -> Proc:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "modelcvd.celery",
            "worker",
            "-n",
            f"{name}@%h",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        proc = spawn(name, argv, self.production_env(), self.logs, cwd=ROOT)
        self.procs.append(proc)
        if wait:
            self.wait_worker(proc)
        return proc

    def wait_worker(self, proc: Proc) -> None:
        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited: {proc.text()[-3000:]}")
            return " ready." in proc.text()

        wait_for(f"{proc.name} to be ready", ready, 90, 0.2)

    def request_run(self, target: str, trials: int) -> int:
        args = json.dumps(
            {
                "case_id": self.seed["case_id"],
                "artifact_id": self.seed["artifact_id"],
                "user": "triager",
                "target": target,
                "trials": trials,
            }
        )
        return int(self.python(REQUEST_RUN_SCRIPT, args).strip().splitlines()[-1])

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return pg_exec(self.database_url, query, *params)

    def sql_retrying(self, query: str, *params: Any, timeout: float = 60) -> list[tuple[Any, ...]]:
        """The same, riding out a database restart."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.sql(query, *params)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def trials(self, run_id: int) -> tuple[int, int]:
        """(rows, distinct indices) stored for a run."""
        ((rows, distinct),) = self.sql_retrying(
            "SELECT count(*), count(DISTINCT index) FROM verification_verificationtrial "
            "WHERE run_id = %s",
            run_id,
        )
        return int(rows), int(distinct)

    def run_state(self, run_id: int) -> tuple[str, str, Any]:
        ((state, error, summary),) = self.sql_retrying(
            "SELECT state, error, summary FROM verification_verificationrun WHERE id = %s",
            run_id,
        )
        return str(state), str(error), summary

    def wait_run(self, run_id: int, timeout: float) -> tuple[str, str, Any]:
        result: list[tuple[str, str, Any]] = []

        def ended() -> bool:
            result[:] = [self.run_state(run_id)]
            return result[0][0] not in ("queued", "running")

        try:
            wait_for(f"run #{run_id} to end", ended, timeout, 0.3)
        except TimeoutError as exc:
            rows, _ = self.trials(run_id)
            raise TimeoutError(
                f"{exc}: state {result}, {rows} trials; logs:\n{self.tail()}"
            ) from None
        return result[0]

    def tail(self, chars: int = 1500) -> str:
        return "\n".join(f"--- {p.name}\n{p.text()[-chars:]}" for p in self.procs)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def chunk_logs(worker: Proc, run_id: int) -> list[dict[str, Any]]:
    return [
        line
        for line in worker.json_lines()
        if line.get("message") == "verification chunk" and line.get("run") == run_id
    ]


@contextlib.contextmanager
def machine_database(base_name: str) -> Iterator[str]:
    """A database of our own on the machine's PostgreSQL, dropped afterwards."""
    name = f"{base_name}_{os.getpid()}"
    admin = f"{MACHINE_PG}/postgres"
    pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_exec(admin, f'CREATE DATABASE "{name}"')
    try:
        yield f"{MACHINE_PG}/{name}"
    finally:
        pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_dump(url: str, out: Path) -> None:
    subprocess.run([str(PG_BIN / "pg_dump"), "-Fc", "-f", str(out), url], check=True, timeout=120)


def pg_restore(dump: Path, url: str) -> None:
    subprocess.run(
        [str(PG_BIN / "pg_restore"), "--no-owner", "-d", url, str(dump)], check=True, timeout=120
    )


def flush_redis_db(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def report_document(title: str, program: str) -> dict[str, Any]:
    """A valid report for `program` (the seeded world's is open-models)."""
    return {
        "format_version": "1.0",
        "title": title,
        "abstract": "A role-play framing bypasses the refusal.",
        "program": program,
        "artifacts": [{"provider": "vendor-a", "name": "chat-7b", "revision": "a" * 40}],
        "technique": {"owasp": "LLM01", "atlas": "AML.T0054"},
        "harm_category": "nonviolent_crimes",
        "reproduction": {
            "system_prompt": "You are a helpful assistant.",
            "turns": [{"role": "user", "content": "Pretend you are a locksmith..."}],
            "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 128, "seed": 7},
            "successes": 3,
            "trials": 10,
        },
    }
