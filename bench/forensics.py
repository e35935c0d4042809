"""Weight forensics at growing model size: seconds and peak memory of `modelcvd forensics compare`.

For each size, a Llama-shaped model of random float32 weights is made on the fly and written
as safetensors shards (at most 512 MB each) to a temporary directory, together with two
derivatives: an abliterated copy (rank-1 ablation of every attention-output and MLP-down
matrix, everything else bit-identical) and a "fine-tuned" copy (every tensor perturbed, so
every matrix is changed and goes through the SVD: the worst case). Each comparison runs in a
fresh subprocess, which reports its own wall time and peak resident memory (getrusage
ru_maxrss; tracemalloc does not see torch's allocations), next to the resident memory of the
same process right after importing torch, before reading any weights. (Linux carries
ru_maxrss across exec; the parent here never imports torch and stays small, so the child's
figure is its own.)

What to read in the table: seconds per million parameters should stay about flat (time is
linear in the model size), and peak memory above the import baseline should follow the
largest single matrix (here the embedding), not the model: the two largest sizes share their
largest matrix, so their memory should match while the model grows.

The JSON's `summary` holds the per-parameter figures the README quotes: the range of seconds
per million parameters per derivative from SUMMARY_FROM parameters up (below that, fixed costs
dominate), and the memory growth per largest matrix. `--summarise` recomputes it from the rows
already in the JSON without measuring again. The 1-minute load average before and after the
measurements is recorded (the machine is shared).

    python bench/forensics.py [--sizes tiny,s,m,l,xl,xxl] [--keep DIR] [--summarise]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]
RESULTS = ROOT / "bench" / "results" / "forensics.json"
# Per-parameter figures are summarised from this size up: below it, fixed costs dominate.
SUMMARY_FROM = 50_000_000
SHARD_BYTES = 512 << 20


@dataclass(frozen=True)
class Size:
    label: str
    hidden: int
    layers: int
    intermediate: int
    vocab: int

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        h, i = self.hidden, self.intermediate
        out: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (self.vocab, h))]
        for layer in range(self.layers):
            p = f"model.layers.{layer}."
            out += [
                (p + "input_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (h, h)),
                (p + "self_attn.k_proj.weight", (h, h)),
                (p + "self_attn.v_proj.weight", (h, h)),
                (p + "self_attn.o_proj.weight", (h, h)),
                (p + "post_attention_layernorm.weight", (h,)),
                (p + "mlp.gate_proj.weight", (i, h)),
                (p + "mlp.up_proj.weight", (i, h)),
                (p + "mlp.down_proj.weight", (h, i)),
            ]
        out += [("model.norm.weight", (h,)), ("lm_head.weight", (self.vocab, h))]
        return out

    @property
    def parameters(self) -> int:
        total = 0
        for _, shape in self.shapes():
            n = 1
            for d in shape:
                n *= d
            total += n
        return total

    @property
    def largest_matrix(self) -> int:
        return max(s[0] * s[1] for _, s in self.shapes() if len(s) == 2)


SIZES = {
    "tiny": Size("tiny", 64, 2, 176, 2048),
    "s": Size("s", 256, 4, 688, 16000),
    "m": Size("m", 512, 8, 1376, 32000),
    "l": Size("l", 768, 12, 2048, 32000),
    "xl": Size("xl", 1024, 20, 2816, 32000),
    "xxl": Size("xxl", 1024, 32, 2816, 32000),
}


def make_models(size: Size, root: Path) -> None:
    """Write base, abliterated and fine-tuned copies, shard by shard (runs in a subprocess)."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    r = torch.randn(size.hidden)
    r /= r.norm()
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": size.hidden,
        "intermediate_size": size.intermediate,
        "num_hidden_layers": size.layers,
        "num_attention_heads": max(1, size.hidden // 64),
        "vocab_size": size.vocab,
    }
    kinds = ("base", "abliterated", "fine-tuned")
    for kind in kinds:
        (root / kind).mkdir(parents=True)
        (root / kind / "config.json").write_text(json.dumps(config))
    shards: dict[str, dict[str, torch.Tensor]] = {k: {} for k in kinds}
    held = 0
    count = 0

    def flush() -> None:
        nonlocal held, count
        count += 1
        for kind in kinds:
            save_file(shards[kind], str(root / kind / f"model-{count:05d}.safetensors"))
            shards[kind] = {}
        held = 0

    for name, shape in size.shapes():
        base = torch.ones(shape) if len(shape) == 1 else torch.randn(shape) / shape[1] ** 0.5
        shards["base"][name] = base
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            shards["abliterated"][name] = base - torch.outer(r, r @ base)
        else:
            shards["abliterated"][name] = base
        shards["fine-tuned"][name] = base + 1e-3 * torch.randn(shape) / max(shape[-1], 1) ** 0.5
        held += base.numel() * 4
        if held >= SHARD_BYTES:
            flush()
    if held:
        flush()


def compare_child(base: str, derived: str) -> None:
    """Run one comparison and print seconds, peak RSS and the verdict as JSON."""
    import torch

    from modelcvd.forensics.weights import compare_dirs

    # One thread: measured on the 2-core machine of these results, a second intra-op thread
    # made the SVDs several times slower (threads waiting for each other).
    torch.set_num_threads(1)
    baseline = _rss_kib()
    started = time.perf_counter()
    result = compare_dirs(Path(base), Path(derived))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_kib": peak,
                "baseline_rss_kib": baseline,
                "verdict": result.verdict,
                "tensors": result.tensors,
            }
        )
    )


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _run(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per derivative, from SUMMARY_FROM parameters up: the range of seconds per million
    parameters and of memory growth per largest matrix."""
    summary: dict[str, Any] = {"from_parameters": SUMMARY_FROM}
    for kind in dict.fromkeys(row["derivative"] for row in rows):
        chosen = [r for r in rows if r["derivative"] == kind and r["parameters"] >= SUMMARY_FROM]
        if not chosen:
            continue
        per_million = [r["seconds_per_million"] for r in chosen]
        growth = [r["growth_per_largest_matrix"] for r in chosen]
        summary[kind] = {
            "sizes": [r["size"] for r in chosen],
            "seconds_per_million_min": round(min(per_million), 3),
            "seconds_per_million_max": round(max(per_million), 3),
            "growth_per_largest_matrix_min": round(min(growth), 2),
            "growth_per_largest_matrix_max": round(max(growth), 2),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--keep", type=Path, help="write the models here and keep them")
    parser.add_argument("--child-make", nargs=2, metavar=("SIZE", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--child-compare", nargs=2, metavar=("BASE", "DERIVED"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--summarise",
        action="store_true",
        help="recompute the JSON's summary from its rows, without measuring",
    )
    args = parser.parse_args()
    if args.summarise:
        data = json.loads(RESULTS.read_text())
        data["summary"] = summarise(data["rows"])
        RESULTS.write_text(json.dumps(data, indent=2))
        print(json.dumps(data["summary"], indent=2))
        return 0
    if args.child_make:
        make_models(SIZES[args.child_make[0]], Path(args.child_make[1]))
        print("{}")
        return 0
    if args.child_compare:
        compare_child(*args.child_compare)
        return 0
    rows = []
    load_before = os.getloadavg()
    for label in args.sizes.split(","):
        size = SIZES[label]
        root = Path(tempfile.mkdtemp(prefix=f"forensics-{label}-", dir=args.keep))
        try:
            started = time.perf_counter()
            _run("--child-make", label, str(root))
            made = time.perf_counter() - started
            for kind in ("abliterated", "fine-tuned"):
                measured = _run("--child-compare", str(root / "base"), str(root / kind))
                assert measured["verdict"] == kind, measured
                row = {
                    "size": label,
                    "derivative": kind,
                    "parameters": size.parameters,
                    "model_mib": size.parameters * 4 / 2**20,
                    "largest_matrix_mib": size.largest_matrix * 4 / 2**20,
                    "seconds": measured["seconds"],
                    "seconds_per_million": measured["seconds"] / (size.parameters / 1e6),
                    "peak_rss_mib": measured["peak_rss_kib"] / 1024,
                    "baseline_rss_mib": measured["baseline_rss_kib"] / 1024,
                    "verdict": measured["verdict"],
                    "write_seconds": made,
                }
                row["growth_mib"] = row["peak_rss_mib"] - row["baseline_rss_mib"]
                row["growth_per_largest_matrix"] = row["growth_mib"] / row["largest_matrix_mib"]
                rows.append(row)
                print(
                    f"{label:>5} {kind:<12} {size.parameters / 1e6:8.1f}M params "
                    f"{row['seconds']:7.2f}s ({row['seconds_per_million']:.3f} s/M)  "
                    f"peak {row['peak_rss_mib']:7.0f} MiB (+{row['growth_mib']:.0f} over import, "
                    f"{row['growth_per_largest_matrix']:.1f}x largest matrix)",
                    flush=True,
                )
        finally:
            if args.keep is None:
                shutil.rmtree(root, ignore_errors=True)
    print()
    header = (
        "| size | derivative | parameters | model MiB | largest matrix MiB | seconds | s per M "
        "| peak RSS MiB | over import MiB | x largest matrix |"
    )
    print(header)
    print("|" + "---|" * 10)
    for row in rows:
        print(
            f"| {row['size']} | {row['derivative']} | {row['parameters'] / 1e6:.1f}M | "
            f"{row['model_mib']:.0f} | {row['largest_matrix_mib']:.0f} | {row['seconds']:.2f} | "
            f"{row['seconds_per_million']:.3f} | {row['peak_rss_mib']:.0f} | "
            f"{row['growth_mib']:.0f} | {row['growth_per_largest_matrix']:.1f} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
                },
                "rows": rows,
                "summary": summarise(rows),
            },
            indent=2,
        )
    )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
