"""Drive garak's Hugging Face generator on a local model; run inside bench/.venv-garak.

Started by bench/verification.py as a subprocess. It loads garak's base config (as the garak CLI
does), instantiates `garak.generators.huggingface.Pipeline` (or `Model`) on a local model
directory with the benchmark's sampling in the plugin config, prints one JSON line
(`{"ready": ...}`), then for every line `run` on stdin times one trial loop, a single
`generate(conversation, generations_this_call=trials)` call (how a garak probe asks for its
generations), and prints `{"trials": N, "seconds": S, ...}`. `quit` or end of input stops it.

    python bench/garak_driver.py MODEL_DIR --prompt TEXT --trials 128 --max-new-tokens 32 \
        [--temperature 1.0] [--top-p 1.0] [--top-k 0] [--threads 1] [--generator Pipeline]

transformers' generate() applies top_k=50 unless a generation config says otherwise, so the
requested top_k (0: no filter, the full distribution) is set in the plugin config's hf_args
and on the generation configs the generator will use; the ready line reports the settings
generate() will actually apply (`sampling`), which bench/verification.py checks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
import transformers
from garak import _config
from garak.attempt import Conversation, Message, Turn
from garak.generators import huggingface


def emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--trials", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--generator", choices=["Pipeline", "Model"], default="Pipeline")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    _config.load_base_config()
    # The plugin config a garak user would write under plugins.generators.huggingface:
    # max_tokens is garak's max_new_tokens; hf_args reach the pipeline's generation_config.
    plugin_config = {
        "generators": {
            "huggingface": {
                args.generator: {
                    "max_tokens": args.max_new_tokens,
                    "hf_args": {
                        "device": "cpu",
                        "do_sample": True,
                        "temperature": args.temperature,
                        "top_p": args.top_p,
                        "top_k": args.top_k,
                    },
                }
            }
        }
    }
    generator_class = getattr(huggingface, args.generator)
    # garak prints a banner on load; keep stdout for the JSON protocol.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        generator = generator_class(name=args.model_dir, config_root=plugin_config)
    finally:
        sys.stdout = stdout
    model = generator.generator.model if args.generator == "Pipeline" else generator.model
    # Whatever garak forwarded from hf_args, the configs generate() reads get the same sampling.
    configs = [model.generation_config]
    if args.generator == "Pipeline" and getattr(generator.generator, "generation_config", None):
        configs.append(generator.generator.generation_config)
    for config in configs:
        config.do_sample = True
        config.temperature = args.temperature
        config.top_p = args.top_p
        config.top_k = args.top_k
    prepared = model._prepare_generation_config(configs[-1])
    effective = prepared[0] if isinstance(prepared, tuple) else prepared
    sampling = {
        name: getattr(effective, name) for name in ("do_sample", "temperature", "top_p", "top_k")
    }
    conversation = Conversation([Turn("user", Message(args.prompt))])
    # The prompt the generator feeds the model: both render the tokenizer's chat template.
    rendered = generator.tokenizer.apply_chat_template(
        generator._conversation_to_list(conversation), tokenize=False, add_generation_prompt=True
    )
    emit(
        {
            "ready": True,
            "garak": _config.version,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "generator": f"garak.generators.huggingface.{args.generator}",
            "dtype": str(next(model.parameters()).dtype),
            "device": str(next(model.parameters()).device),
            "use_chat": bool(generator.use_chat),
            "prompt": rendered,
            "sampling": sampling,
        }
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "run":
            emit({"error": f"unknown command {command!r}"})
            continue
        started = time.perf_counter()
        outputs = generator.generate(conversation, generations_this_call=args.trials)
        seconds = time.perf_counter() - started
        texts = [o.text for o in outputs if o is not None and o.text is not None]
        emit(
            {
                "trials": len(outputs),
                "answered": len(texts),
                "seconds": seconds,
                "sample": texts[:2],
            }
        )


if __name__ == "__main__":
    main()
