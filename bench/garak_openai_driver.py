"""Drive garak's OpenAI-compatible generator against a local server; run inside the garak venv.

Started by bench/endpoint.py as a subprocess. It loads garak's base config (as the garak CLI
does), instantiates `garak.generators.openai.OpenAICompatible` with the benchmark's endpoint,
model and sampling in the plugin config, prints one JSON line (`{"ready": ...}`), then for
every line `run TRIALS PARALLEL` on stdin times one `generate(conversation,
generations_this_call=TRIALS)` call (how a garak probe asks for its generations) with
`parallel_requests` = PARALLEL (garak's `--parallel_requests`: a multiprocessing pool of that
many workers, one request each at a time) and prints `{"trials": N, "answered": A, "seconds":
S}`. `quit` or end of input stops it.

    python bench/garak_openai_driver.py URI MODEL --prompt TEXT --max-tokens 32 \
        [--temperature 1.0] [--top-p 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("OPENAICOMPATIBLE_API_KEY", "none")  # the local server wants none

from garak import _config
from garak.attempt import Conversation, Message, Turn
from garak.generators import openai as garak_openai


def emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("model")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    args = parser.parse_args()

    _config.load_base_config()
    # The plugin config a garak user would write under plugins.generators.openai. garak's
    # defaults add stop sequences ("#", ";") and penalties the other clients do not send:
    # suppressed, so every client asks the server for the same sampling.
    plugin_config = {
        "generators": {
            "openai": {
                "OpenAICompatible": {
                    "uri": args.uri,
                    "max_tokens": args.max_tokens,
                    "temperature": args.temperature,
                    "top_p": args.top_p,
                    "suppressed_params": {"stop", "frequency_penalty", "presence_penalty"},
                }
            }
        }
    }
    # garak prints a banner on load; keep stdout for the JSON protocol.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        generator = garak_openai.OpenAICompatible(name=args.model, config_root=plugin_config)
    finally:
        sys.stdout = stdout
    conversation = Conversation([Turn("user", Message(args.prompt))])
    emit({"ready": True, "garak": _config.version})
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "quit":
            break
        trials, parallel = int(rest[0]), int(rest[1])
        generator.parallel_requests = parallel if parallel > 1 else False
        sys.stdout = sys.stderr  # garak's progress bars
        try:
            started = time.perf_counter()
            outputs = generator.generate(conversation, generations_this_call=trials)
            seconds = time.perf_counter() - started
        finally:
            sys.stdout = stdout
        answered = sum(1 for o in outputs if o is not None and o.text is not None)
        emit({"trials": trials, "answered": answered, "seconds": seconds})


if __name__ == "__main__":
    main()
