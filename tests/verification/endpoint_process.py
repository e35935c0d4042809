"""A real OpenAI-compatible server process on loopback, for the tests that need a remote
endpoint with a key (transfer matrices, regression watch): it complies unless the prompt says
REFUSE, and serves "NAME@REVISION" as model NAME with REVISION as its system fingerprint (the
revision the target reports), so each registered version is served as itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    KEY = sys.argv[1]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.headers.get("Authorization") != "Bearer " + KEY:
                status, answer = 401, {"error": {"message": "bad key"}}
            else:
                text = " ".join(m["content"] for m in body["messages"])
                content = "I can't help with that." if "REFUSE" in text else "Sure, step one."
                name, _, revision = body["model"].partition("@")
                status, answer = 200, {
                    "model": name,
                    "choices": [{"message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                }
                if revision:
                    answer["system_fingerprint"] = revision
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


@contextmanager
def endpoint_serving(tmp_path: Path, key: str) -> Iterator[int]:
    """The server process, accepting only `key`; yields its port."""
    script = tmp_path / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script), key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)
