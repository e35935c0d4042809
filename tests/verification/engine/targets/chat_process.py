"""A stand-in OpenAI-compatible server in a process of its own, for the endpoint target's tests.

Run as `python chat_process.py`: it listens on a free loopback port, prints that port on its
first line, and serves until killed. `POST /v1/chat/completions` answers after `delay` seconds
(canned text, the request's seed in it), or first plays the queued `script` entries (status,
headers, delay). It measures what the client did: arrival times (this process's monotonic
clock), requests in flight at most. Control: `POST /control` with {"script": [...],
"delay": S} replaces the script and resets the counters; `GET /control` returns the counters.
Only the standard library: it must not share an interpreter (or a GIL) with the client.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATE: dict[str, Any] = {}
LOCK = threading.Lock()


def reset(script: list[list[Any]], delay: float) -> None:
    STATE.update(script=list(script), delay=delay, arrivals=[], in_flight=0, max_in_flight=0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        with LOCK:
            counters = {k: STATE[k] for k in ("arrivals", "max_in_flight", "in_flight")}
        self._send(200, counters, {})

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/control":
            with LOCK:
                reset(body.get("script", []), float(body.get("delay", 0.0)))
            self._send(200, {}, {})
            return
        with LOCK:
            STATE["arrivals"].append(time.monotonic())
            STATE["in_flight"] += 1
            STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
            status, headers, delay = (
                STATE["script"].pop(0) if STATE["script"] else (200, {}, STATE["delay"])
            )
        try:
            time.sleep(delay)
            if status != 200:
                self._send(status, {"error": {"message": "scripted failure"}}, headers)
                return
            payload = {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body.get("model", ""),
                "system_fingerprint": "fp_test",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"seed {body.get('seed')}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            }
            self._send(200, payload, headers)
        finally:
            with LOCK:
                STATE["in_flight"] -= 1


def main() -> None:
    reset([], 0.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
