"""Fixtures for the verification tests: real tiny models, a real HTTP server, report files.

Models are built or trained once per session under a session tmp dir. Nothing on the engine
path is mocked: the OpenAI-compatible target talks over TCP to a ThreadingHTTPServer that
generates with the trained model.
"""

from __future__ import annotations

import os

# Set before transformers is imported anywhere: tests must never reach a hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from modelcvd.verification.engine.identity import weights_digest
from modelcvd.verification.engine.spec import Message, SamplingSpec
from modelcvd.verification.engine.targets.base import GenerationRequest
from modelcvd.verification.engine.targets.huggingface import TransformersTarget

from . import tiny_models

# One intra-op thread: with models this small, a second thread buys little, and on a busy
# 2-core machine threads that wait for each other made training 6-12x slower (measured).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def random_lm_dir(model_cache: Path) -> Path:
    """An untrained tiny Llama (random weights), saved as safetensors."""
    return tiny_models.build_random_lm(model_cache / "random-lm")


@pytest.fixture(scope="session")
def refuser_dir(model_cache: Path) -> Path:
    """Refuses harmful prompts, complies with benign ones, gives in to the jailbreak ~half the
    time, and judges answers as safe/unsafe under the JUDGE system prompt."""
    return tiny_models.train_refuser(model_cache / "refuser")


@pytest.fixture(scope="session")
def fixed_dir(model_cache: Path, refuser_dir: Path) -> Path:
    """The refuser fine-tuned so the jailbreak is refused: the fixed artifact version."""
    return tiny_models.train_fixed_refuser(refuser_dir, model_cache / "refuser-fixed")


@pytest.fixture(scope="session")
def classifier_dir(model_cache: Path) -> Path:
    return tiny_models.train_classifier(model_cache / "refusal-classifier")


@pytest.fixture(scope="session")
def refuser_target(refuser_dir: Path) -> TransformersTarget:
    return TransformersTarget(refuser_dir, batch_size=16)


@pytest.fixture(scope="session")
def fixed_target(fixed_dir: Path) -> TransformersTarget:
    return TransformersTarget(fixed_dir, batch_size=16)


def report_document(
    *,
    user: str = tiny_models.JAILBREAK,
    name: str = "refuser",
    digest: str = "",
    trials: int = 40,
    seed: int | None = 7,
    max_tokens: int = 32,
) -> dict[str, Any]:
    """A report in modelcvd's open format whose reproduction is the tiny model's jailbreak."""
    sampling: dict[str, Any] = {"temperature": 1.0, "top_p": 1.0, "max_tokens": max_tokens}
    if seed is not None:
        sampling["seed"] = seed
    return {
        "format_version": "1.0",
        "title": "DAN persona jailbreak of the tiny refuser",
        "abstract": "A persona prompt makes the model comply with a request it refuses.",
        "program": "modelcvd-tests",
        "artifacts": [{"provider": "modelcvd-tests", "name": name, "weights_digest": digest}],
        "technique": {"owasp": "LLM01", "atlas": "AML.T0054"},
        "harm_category": "indiscriminate_weapons",
        "reproduction": {
            "turns": [{"role": "user", "content": user}],
            "sampling": sampling,
            "successes": 20,
            "trials": trials,
        },
    }


@pytest.fixture
def write_report(tmp_path: Path) -> Callable[..., Path]:
    """Write a report file (.yaml or .json) and return its path."""

    def write(filename: str = "report.yaml", **kwargs: Any) -> Path:
        path = tmp_path / filename
        document = report_document(**kwargs)
        text = json.dumps(document) if path.suffix == ".json" else yaml.safe_dump(document)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def refuser_report(tmp_path_factory: pytest.TempPathFactory, refuser_dir: Path) -> Path:
    """A report pinned to the refuser's real weights digest."""
    path = tmp_path_factory.mktemp("reports") / "refuser.yaml"
    document = report_document(digest=weights_digest(refuser_dir))
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@dataclass
class ChatServer:
    """A small OpenAI-compatible chat-completions server over real TCP, in a thread.

    `script` queues canned answers (status, headers, delay) served before real ones, to
    exercise retries (status 200 means: answer for real, after the delay); `max_in_flight`
    records the most concurrent requests seen.
    """

    targets: dict[str, TransformersTarget]
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    generate_lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reset(self) -> None:
        with self.lock:
            self.script.clear()
            self.requests = self.in_flight = self.max_in_flight = 0
            self.bodies.clear()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        name = body.get("model", "")
        target = self.targets.get(name)
        if target is None:
            return 404, {}, {"error": {"message": f"model {name!r} not found"}}
        request = GenerationRequest(
            index=0,
            messages=tuple(Message(m["role"], m["content"]) for m in body["messages"]),
            sampling=SamplingSpec(
                temperature=float(body.get("temperature", 1.0)),
                top_p=float(body.get("top_p", 1.0)),
                max_tokens=int(body.get("max_tokens", 64)),
            ),
            seed=int(body.get("seed") or 0),
        )
        # One generation at a time: requests still arrive concurrently (that is measured),
        # but the shared model and tokenizer are not used from two threads at once.
        with self.generate_lock:
            (generation,) = list(target.generate([request]))
        identity = target.identity
        return (
            200,
            {},
            {
                "id": f"chatcmpl-{self.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": f"modelcvd-tests/{identity.name}",
                "system_fingerprint": f"fp_{identity.weights_digest[:12]}",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": generation.response},
                        "finish_reason": generation.finish_reason,
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
        )


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Silence per-request logging."""

        def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client timed out and left, as a timeout test intends

        def do_POST(self) -> None:
            with server.lock:
                server.requests += 1
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
                scripted = server.script.pop(0) if server.script else None
            # A request stops counting as in flight before its answer is written: once the
            # client has read the answer it may send the next one, which must not overlap it.
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.bodies.append(body)
                if not self.path.endswith("/chat/completions"):
                    reply: tuple[Any, ...] = (404, {}, {"error": {"message": "not found"}})
                elif scripted is not None and scripted[0] != 200:
                    status, headers, delay = scripted
                    time.sleep(delay)
                    reply = (status, headers, {"error": {"message": "scripted failure"}})
                else:
                    if scripted is not None:
                        time.sleep(scripted[2])
                    # A little latency, so concurrent requests really overlap in time.
                    time.sleep(0.02)
                    reply = server.answer(body)
            finally:
                with server.lock:
                    server.in_flight -= 1
            self._send(*reply)

    return Handler


@pytest.fixture(scope="session")
def chat_server_session(
    refuser_target: TransformersTarget, fixed_target: TransformersTarget
) -> Iterator[ChatServer]:
    server = ChatServer(targets={"refuser": refuser_target, "refuser-fixed": fixed_target})
    server.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    # Non-daemon handler threads are joined by server_close(), so none is still inside torch
    # when the interpreter exits (which aborts the process).
    server.httpd.daemon_threads = False
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def chat_server(chat_server_session: ChatServer) -> ChatServer:
    """The session's server with its script and counters cleared for this test."""
    chat_server_session.reset()
    return chat_server_session
