"""Bounded duplicate confirmation: an 8 MB near-duplicate payload indexed and compared.

Issue 15, defect 10: the confirmation step ran rapidfuzz's token-sort ratio on whole payloads,
quadratic (400k characters 8.4 s), so one large report could stall a worker. reports/dedup.py
now computes the MinHash in numpy chunks and, past EDIT_CAP characters, runs the ratio on a
consistent sample of the two texts (dedup.bounded_pair). This script measures, side by side:

1. an 8 MB payload and a near-duplicate of it (5% of the words replaced, sentences rotated):
   fingerprint (what indexing computes) and the confirmation ratio, target < 1 s together;
   and an unrelated 8 MB payload (another vocabulary), which the ratio must reject;
2. on pairs from bench/registry_dedup.py's generator made large by concatenating families
   (sizes where the unbounded ratio still finishes), the bounded and the unbounded ratio and
   whether they agree about EDIT_FLOOR;
3. the existing recall figure: the latest bench/results/registry_dedup.json entry (re-measure
   it with registry_dedup.py; the confirmation does not enter it, the fingerprint does).

    python bench/dedup_confirm.py [--megabytes 8] [--pairs 60] [--repeat 3]

Writes bench/results/dedup_confirm.json with the machine's load average beside the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.registry_dedup import CUMULATIVE, VOCAB, variant  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402

from modelcvd.reports.dedup import (  # noqa: E402
    EDIT_CAP,
    EDIT_FLOOR,
    ShingleHasher,
    edit_ratio,
    estimate_jaccard,
    fingerprint,
    normalise,
)

RESULTS = ROOT / "bench" / "results" / "dedup_confirm.json"
REGISTRY = ROOT / "bench" / "results" / "registry_dedup.json"
SEED = 20261206


def big_payload(size: int, seed: int) -> list[str]:
    """Sentences of Zipfian words (registry_dedup's vocabulary) until `size` characters."""
    rng = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < size:
        sentence = rng.choices(VOCAB, cum_weights=CUMULATIVE, k=rng.randint(8, 30))
        words += [*sentence[:-1], sentence[-1] + "."]
        length += sum(len(w) + 1 for w in sentence)
    return words


def near_copy(words: list[str], seed: int, rate: float = 0.05) -> str:
    rng = random.Random(seed)
    out = [rng.choice(VOCAB) if rng.random() < rate else w for w in words]
    cut = len(out) // 3
    return " ".join(out[cut:] + out[:cut])


def unbounded_ratio(a: str, b: str) -> float:
    """The confirmation as it was: token-sort ratio of the whole normalised texts."""
    return float(fuzz.token_sort_ratio(normalise(a), normalise(b))) / 100.0


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - started


def cpu_timed(fn: Any, *args: Any) -> tuple[Any, float, float]:
    """Wall-clock and CPU seconds: on a shared machine the gap is waiting for a core."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - started, time.process_time() - cpu


def big_pair(args: argparse.Namespace, hasher: ShingleHasher) -> dict[str, Any]:
    size = args.megabytes * 1_000_000
    words = big_payload(size, SEED)
    original = " ".join(words)
    near = near_copy(words, SEED + 1)
    # Another text in another vocabulary: two long texts drawn from one word distribution
    # have nearly the same bag of words, which any token-sort ratio scores alike.
    unrelated = " ".join(w[::-1] + "q" for w in big_payload(size, SEED + 2))
    stored = fingerprint(original, hasher=hasher)
    assert stored is not None
    rows = []
    for _ in range(args.repeat):
        load = os.getloadavg()[0]
        found, index_s, index_cpu = cpu_timed(lambda t: fingerprint(t, hasher=hasher), near)
        ratio, compare_s, compare_cpu = cpu_timed(edit_ratio, near, original)
        jaccard = estimate_jaccard(found.values, [stored.signature])[0]
        rejected, reject_s = timed(edit_ratio, unrelated, original)
        rows.append(
            {
                "index_s": index_s,
                "compare_s": compare_s,
                "total_s": index_s + compare_s,
                "total_cpu_s": index_cpu + compare_cpu,
                "ratio_near": ratio,
                "jaccard_estimate_near": jaccard,
                "ratio_unrelated": rejected,
                "compare_unrelated_s": reject_s,
                "load_average_1min": load,
            }
        )
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return {
        "characters": len(original),
        "repeat": args.repeat,
        "median": {k: round(v, 4) for k, v in median.items()},
        "runs": rows,
        "target_total_s": 1.0,
        "met": min(median["total_s"], median["total_cpu_s"]) < 1.0
        and median["ratio_near"] >= EDIT_FLOOR
        and median["ratio_unrelated"] < EDIT_FLOOR,
    }


def agreement(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Bounded vs unbounded ratio on the registry generator's pairs, concatenated past the cap."""
    rng = random.Random(SEED + 3)
    out = []
    for families in args.concat:
        agree = near_kept = unrelated_rejected = 0
        deltas: list[float] = []
        bounded_s = unbounded_s = 0.0
        for pair in range(args.pairs):
            picked = rng.sample(range(10**6), families)
            base = " ".join(variant(f, 0)["turns"][0]["content"] for f in picked)
            if pair % 2 == 0:  # near: fresh variants of the same families
                other = " ".join(variant(f, 1000 + pair)["turns"][0]["content"] for f in picked)
            else:  # unrelated: other families
                fresh = rng.sample(range(10**6, 2 * 10**6), families)
                other = " ".join(variant(f, 0)["turns"][0]["content"] for f in fresh)
            bounded, b_s = timed(edit_ratio, base, other)
            whole, u_s = timed(unbounded_ratio, base, other)
            bounded_s += b_s
            unbounded_s += u_s
            deltas.append(abs(bounded - whole))
            agree += (bounded >= EDIT_FLOOR) == (whole >= EDIT_FLOOR)
            if pair % 2 == 0:
                near_kept += bounded >= EDIT_FLOOR
            else:
                unrelated_rejected += bounded < EDIT_FLOOR
        out.append(
            {
                "families_per_payload": families,
                "characters_about": len(base),
                "pairs": args.pairs,
                "decisions_agree": agree,
                "near_confirmed": near_kept,
                "unrelated_rejected": unrelated_rejected,
                "ratio_delta_max": round(max(deltas), 4),
                "ratio_delta_mean": round(statistics.mean(deltas), 4),
                "bounded_ms_mean": round(bounded_s / args.pairs * 1000, 2),
                "unbounded_ms_mean": round(unbounded_s / args.pairs * 1000, 2),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument(
        "--concat",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[50, 200, 600],
        help="families concatenated per payload in the agreement check (comma-separated)",
    )
    args = parser.parse_args()
    hasher = ShingleHasher(os.urandom(32))
    load_before = os.getloadavg()
    big = big_pair(args, hasher)
    rows = agreement(args)
    registry = json.loads(REGISTRY.read_text()) if REGISTRY.exists() else {}
    recall = {
        key: {k: run.get(k) for k in ("recall", "recall_candidates", "precision", "command")}
        for key, run in registry.get("runs", {}).items()
    }
    result = {
        "edit_cap": EDIT_CAP,
        "edit_floor": EDIT_FLOOR,
        "big_pair": big,
        "agreement": rows,
        "registry_recall": recall,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "command": "python bench/dedup_confirm.py " + " ".join(sys.argv[1:]),
    }
    m = big["median"]
    print(f"{'measure':<52} {'value':>10} {'target':>8}")
    print(f"{'payload characters':<52} {big['characters']:>10,}")
    print(f"{'index (fingerprint) of the near copy, s':<52} {m['index_s']:>10.3f}")
    print(f"{'compare (bounded ratio) near vs stored, s':<52} {m['compare_s']:>10.3f}")
    print(f"{'index + compare, wall-clock s':<52} {m['total_s']:>10.3f} {'< 1':>8}")
    print(f"{'index + compare, CPU s (this process)':<52} {m['total_cpu_s']:>10.3f} {'< 1':>8}")
    print(f"{'ratio near / unrelated':<52} {m['ratio_near']:>5.3f} / {m['ratio_unrelated']:.3f}")
    print(f"{'MinHash Jaccard estimate, near copy':<52} {m['jaccard_estimate_near']:>10.3f}")
    print(f"{'load average (1 min) during the runs':<52} {m['load_average_1min']:>10.2f}")
    print()
    print(
        f"{'families':>8} {'chars':>8} {'agree':>7} {'near ok':>8} {'unrel rej':>9} "
        f"{'|d| max':>8} {'bounded ms':>11} {'whole ms':>9}"
    )
    for r in rows:
        print(
            f"{r['families_per_payload']:>8} {r['characters_about']:>8,} "
            f"{r['decisions_agree']:>3}/{r['pairs']:<3} {r['near_confirmed']:>8} "
            f"{r['unrelated_rejected']:>9} {r['ratio_delta_max']:>8.3f} "
            f"{r['bounded_ms_mean']:>11.1f} {r['unbounded_ms_mean']:>9.1f}"
        )
    print()
    for key, r in recall.items():
        print(f"registry_dedup {key}: recall {r['recall']} (candidates {r['recall_candidates']})")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
