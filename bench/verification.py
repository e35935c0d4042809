"""Benchmark of the verification engine; prints a table, writes bench/results/verification.json.

1. Throughput: trials per second of the transformers target (batched, and replayable one at a
   time) and of a full run (target + refusal judge + streaming), against a bare batched
   `model.generate` loop on the same model, prompt and batch size, which is the ceiling: it
   has no per-trial seeds, no judging, no bookkeeping. Also garak driving the same model
   through its Hugging Face generators (`huggingface.Pipeline`, garak's default for
   `--target_type huggingface`, and `huggingface.Model`), each asked for all trials in one
   `generate(conversation, generations_this_call=trials)` call, as a garak probe asks. garak
   runs in its own venv, bench/.venv-garak (created on first use, see `ensure_garak_venv`),
   through bench/garak_driver.py; since garak batches all trials at once, the target and the
   bare loop are measured with one batch of all trials too.
   Every path samples identically: temperature 1.0, top_p 1.0 and no top-k filter (the full
   distribution, as modelcvd's target samples). transformers' generate() applies top_k=50
   unless told otherwise, so the bare loop passes top_k=0 and the garak driver sets it on the
   generation configs; each path's effective settings are read back and recorded in the JSON
   (`sampling`), and the run stops if they differ.
2. Sequential testing, computed exactly (the distribution of the SPRT's stopping point by
   dynamic programming, no simulation): the trials the SPRT (H0 rate <= 0.05 vs H1 rate >= 0.20,
   alpha 0.05, beta 0.10, at most 200 trials) actually runs, counting whole batches in flight
   (a batch started is finished: batch 1 and the bench's batch size), against the fixed-size
   exact binomial test with the same alpha and power (1 - beta = 0.9: 38 trials), at true rates
   from 0.01 to 0.9, including the indifference zone between p0 and p1 where the SPRT runs
   longest. The decisions' probabilities of both tests are reported beside the trial counts.

    python bench/verification.py [--trials 128] [--batch-size 16] [--threads 1]
        [--repeats 3] [--skip-garak] [--sequential-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from scipy import stats as sps  # noqa: E402
from tests.verification import tiny_models  # noqa: E402

from modelcvd.verification.engine.judges.refusal import RefusalJudge  # noqa: E402
from modelcvd.verification.engine.runner import run_trials  # noqa: E402
from modelcvd.verification.engine.spec import Message, ReplaySpec, SamplingSpec  # noqa: E402
from modelcvd.verification.engine.stats import SequentialTest, trials_for_power  # noqa: E402
from modelcvd.verification.engine.targets.base import GenerationRequest  # noqa: E402
from modelcvd.verification.engine.targets.huggingface import TransformersTarget  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "verification.json"
MAX_TOKENS = 32
TEMPERATURE = 1.0
TOP_P = 1.0
# 0: no top-k filter, the full distribution (modelcvd's target has no top-k at all).
TOP_K = 0
SAMPLING = {"do_sample": True, "temperature": TEMPERATURE, "top_p": TOP_P, "top_k": TOP_K}
CEILING = "bare model.generate (ceiling)"
TARGET = "target, batched"

GARAK_VENV = ROOT / "bench" / ".venv-garak"
GARAK_PYTHON = GARAK_VENV / "bin" / "python"
GARAK_DRIVER = ROOT / "bench" / "garak_driver.py"
GARAK_VERSION = "0.17.1"
GARAK_GENERATORS = ("Pipeline", "Model")
# First and alone: an unpinned torch (or one pulled in by a dependency) is a multi-GB CUDA build.
# The CPU build: PyTorch's CPU index (or a local wheel on pip's find-links).
GARAK_TORCH = "torch==2.13.0+cpu"
TORCH_CPU_INDEX = ("--extra-index-url", "https://download.pytorch.org/whl/cpu")
# What `import garak.generators.huggingface` and a local Pipeline/Model need, read off garak's
# source (garak is installed with --no-deps: pip's resolver may not finish on its full set).
# garak 0.17.1 asks for transformers >=5.14.1,<5.20; 5.19 loads the directories 5.24 saves.
GARAK_DEPS = (
    "transformers==5.19.0",  # generators/huggingface.py: pipeline, AutoModelForCausalLM, ...
    "accelerate==1.15.0",  # the generators pass device_map, which transformers hands to it
    "backoff==2.2.1",  # generators/huggingface.py
    "requests==2.34.2",  # generators/huggingface.py (InferenceAPI, at import time)
    "colorama==0.4.6",  # generators/base.py
    "xdg-base-dirs==6.0.3",  # _config.py
    "pyyaml==6.0.4",  # _config.py
    "tqdm==4.70.1",  # generators/base.py
    "psutil==7.2.2",  # accelerate
    # transformers' own dependencies, pinned to what this project's venv runs
    "tokenizers==0.23.3",
    "huggingface_hub==2.4.0",
    "safetensors==0.8.0",
    "numpy==2.4.6",
    "regex==2026.11.19",
    "packaging==26.3",
)


def timed(
    work: dict[str, Callable[[], int | tuple[int, float]]], repeats: int = 3
) -> dict[str, float]:
    """Best-of-`repeats` trials per second for each path, the paths interleaved per repeat.

    A path returns its trial count, or the count and the seconds it measured itself (garak, in
    its own process). Every path runs once untimed first. Interleaving spreads load from other
    processes over all paths alike; the best run is the least disturbed one.
    """
    for run in work.values():
        run()  # untimed warm-up: first calls pay for lazy initialisation (garak's pipeline most)
    best = dict.fromkeys(work, 0.0)
    for _ in range(repeats):
        for name, run in work.items():
            started = time.perf_counter()
            done = run()
            elapsed = time.perf_counter() - started
            trials, seconds = done if isinstance(done, tuple) else (done, elapsed)
            best[name] = max(best[name], trials / seconds)
    return best


def pip(*args: str) -> None:
    subprocess.run([str(GARAK_PYTHON), "-m", "pip", "install", *args], check=True)


def ensure_garak_venv() -> None:
    """Create bench/.venv-garak with garak and the pinned packages its HF generators import."""
    check = [str(GARAK_PYTHON), "-c", "import accelerate, garak.generators.huggingface"]
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    if (
        GARAK_PYTHON.exists()
        and subprocess.run(check, env=env, capture_output=True).returncode == 0
    ):
        return
    print(f"creating {GARAK_VENV.relative_to(ROOT)} (garak {GARAK_VERSION})", flush=True)
    subprocess.run(["python3.11", "-m", "venv", str(GARAK_VENV)], check=True)
    pip(*TORCH_CPU_INDEX, GARAK_TORCH)
    pip("--no-deps", f"garak=={GARAK_VERSION}")
    # pip reports garak's other (uninstalled) dependencies as conflicts; that is expected.
    pip(*TORCH_CPU_INDEX, GARAK_TORCH, *GARAK_DEPS)
    subprocess.run(check, env=env, check=True)


class GarakDriver:
    """bench/garak_driver.py in the garak venv, loaded once, timing one trial loop per call."""

    def __init__(self, model_dir: Path, generator: str, trials: int, threads: int) -> None:
        self.scratch = scratch = tempfile.mkdtemp(prefix="garak-home-")
        # garak writes its config, data and logs under the XDG directories; keep them out of $HOME.
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "XDG_CONFIG_HOME": scratch,
            "XDG_DATA_HOME": scratch,
            "XDG_CACHE_HOME": scratch,
        }
        command = [
            str(GARAK_PYTHON),
            str(GARAK_DRIVER),
            str(model_dir),
            f"--prompt={tiny_models.JAILBREAK}",
            f"--trials={trials}",
            f"--max-new-tokens={MAX_TOKENS}",
            f"--temperature={TEMPERATURE}",
            f"--top-p={TOP_P}",
            f"--top-k={TOP_K}",
            f"--threads={threads}",
            f"--generator={generator}",
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.info = self._read()
        self.last: dict[str, Any] = {}

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"garak driver exited ({self.process.wait()}); run it by hand to see why"
            )
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def run(self) -> tuple[int, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        self.last = self._read()
        if self.last["answered"] != self.last["trials"]:
            raise RuntimeError(f"garak answered {self.last['answered']} of {self.last['trials']}")
        return self.last["trials"], self.last["seconds"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(timeout=60)
        shutil.rmtree(self.scratch, ignore_errors=True)


def effective_sampling(model: Any, **kwargs: Any) -> dict[str, Any]:
    """The sampling settings generate() will use with these arguments, defaults applied."""
    prepared = model._prepare_generation_config(None, **kwargs)
    config = prepared[0] if isinstance(prepared, tuple) else prepared
    return {name: getattr(config, name) for name in SAMPLING}


def throughput(
    model_dir: Path,
    label: str,
    trials: int,
    batch_size: int,
    garak: bool,
    repeats: int,
    sampling_seen: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    batched = TransformersTarget(model_dir, batch_size=batch_size)
    one_batch = TransformersTarget(model_dir, batch_size=trials)
    replayable = TransformersTarget(model_dir, replayable=True)
    messages = (Message("user", tiny_models.JAILBREAK),)
    sampling = SamplingSpec(temperature=TEMPERATURE, top_p=TOP_P, max_tokens=MAX_TOKENS)
    requests = [GenerationRequest(i, messages, sampling, seed=i) for i in range(trials)]
    spec = ReplaySpec(turns=messages, sampling=sampling, trials=trials)
    judge = RefusalJudge()

    model, tokenizer = batched.model, batched.tokenizer
    prompt = batched.prompt_ids(requests[0])

    def bare_generate(batch: int) -> int:
        done = 0
        while done < trials:
            rows = min(batch, trials - done)
            ids = torch.tensor([prompt] * rows)
            with torch.inference_mode():
                model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=True,
                    temperature=TEMPERATURE,
                    top_p=TOP_P,
                    top_k=TOP_K,  # generate() would apply top_k=50 otherwise
                    max_new_tokens=MAX_TOKENS,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
            done += rows
        return trials

    def target_replayable() -> int:
        # One at a time is slow by design; a quarter of the trials keeps the bench short.
        return len(list(replayable.generate(requests[: max(1, trials // 4)])))

    def full_run() -> int:
        return run_trials(spec, batched, judge, on_trial=lambda trial: None).summary.trials

    bare_sampling = effective_sampling(
        model, do_sample=True, temperature=TEMPERATURE, top_p=TOP_P, top_k=TOP_K
    )
    if bare_sampling != SAMPLING:
        raise RuntimeError(f"the bare loop samples with {bare_sampling}, not {SAMPLING}")
    sampling_seen[f"{label}: bare model.generate"] = bare_sampling
    # modelcvd's target samples temperature and top_p itself, with no top-k at all.
    sampling_seen[f"{label}: modelcvd target"] = {
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": 0,
    }
    work: dict[str, Callable[[], int | tuple[int, float]]] = {
        CEILING: lambda: bare_generate(batch_size),
        TARGET: lambda: len(list(batched.generate(requests))),
        "target, replayable (batch of 1)": target_replayable,
        "run: batched target + refusal judge": full_run,
    }
    batches = {name: batch_size for name in work} | {"target, replayable (batch of 1)": 1}
    ceilings = dict.fromkeys(work, CEILING)
    drivers = []
    if garak and trials != batch_size:
        work[f"{CEILING}, one batch"] = lambda: bare_generate(trials)
        work[f"{TARGET}, one batch"] = lambda: len(list(one_batch.generate(requests)))
        batches |= {f"{CEILING}, one batch": trials, f"{TARGET}, one batch": trials}
        ceilings |= dict.fromkeys(
            (f"{CEILING}, one batch", f"{TARGET}, one batch"), f"{CEILING}, one batch"
        )
    if garak:
        threads = torch.get_num_threads()
        ceiling = f"{CEILING}, one batch" if trials != batch_size else CEILING
        rendered = tokenizer.decode(prompt)
        for generator in GARAK_GENERATORS:
            driver = GarakDriver(model_dir, generator, trials, threads)
            drivers.append(driver)
            info = driver.info
            # Same prompt, sampling and threads, or the comparison means nothing.
            if info["threads"] != threads or info["dtype"] != "torch.float32":
                raise RuntimeError(f"garak {generator} runs with {info}")
            if info["prompt"] != rendered:
                raise RuntimeError(f"garak renders {info['prompt']!r}, the target {rendered!r}")
            if info["sampling"] != SAMPLING:
                raise RuntimeError(f"garak {generator} samples with {info['sampling']}")
            sampling_seen[f"{label}: garak huggingface.{generator}"] = info["sampling"]
            name = f"garak huggingface.{generator}"
            work[name] = driver.run
            batches[name] = trials
            ceilings[name] = ceiling
    try:
        rates = timed(work, repeats)
    finally:
        for driver in drivers:
            driver.close()
    params = sum(p.numel() for p in model.parameters())
    return [
        {
            "model": label,
            "parameters": params,
            "path": name,
            "batch": batches[name],
            "trials_per_s": round(rate, 1),
            "ratio_to_ceiling": round(rate / rates[ceilings[name]], 3),
        }
        for name, rate in rates.items()
    ]


def garak_targets(speed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue #4's targets per model: the target at least 10x garak, at least 0.8 of the ceiling."""
    rows = []
    for label in dict.fromkeys(row["model"] for row in speed):
        rate = {row["path"]: row["trials_per_s"] for row in speed if row["model"] == label}
        for generator in GARAK_GENERATORS:
            garak_rate = rate.get(f"garak huggingface.{generator}")
            if garak_rate is None:
                continue
            for path in (TARGET, f"{TARGET}, one batch"):
                if path not in rate:
                    continue
                rows.append(
                    {
                        "model": label,
                        "modelcvd": path,
                        "garak": f"huggingface.{generator}",
                        "modelcvd_over_garak": round(rate[path] / garak_rate, 2),
                        "meets_10x": rate[path] >= 10 * garak_rate,
                    }
                )
    return rows


SAMPLING_NOTE = (
    "every path samples identically: temperature 1.0, top_p 1.0, no top-k filter (top_k 0: "
    "the full distribution). transformers' generate() defaults to top_k 50, so the bare loop "
    "and garak's generators are given top_k 0; each path's effective settings, read back, are "
    "in per_path"
)


def sequential_savings(batch_size: int, cap: int = 200, power: float = 0.9) -> dict[str, Any]:
    """Exact trials run and decision probabilities of the SPRT, against the fixed-size test with
    the same alpha and power."""
    test = SequentialTest(p0=0.05, p1=0.20, alpha=0.05, beta=round(1 - power, 10), max_trials=cap)
    fixed = trials_for_power(test.p0, test.p1, alpha=test.alpha, power=power)
    # The fixed-size exact test says "reproduced" when successes >= critical.
    critical = int(sps.binom.ppf(1.0 - test.alpha, fixed, test.p0)) + 1
    rows = []
    for rate in (0.01, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.3, 0.5, 0.9):
        stops, undecided = sprt_stopping(test, rate)
        row: dict[str, Any] = {"true_rate": rate, "zone": zone(rate, test)}
        for batch in dict.fromkeys((1, batch_size)):
            ran: dict[int, float] = {}
            for n, (p, _, _) in stops.items():
                whole = min(cap, -(-n // batch) * batch)  # the batch in flight is finished
                ran[whole] = ran.get(whole, 0.0) + p
            ran[cap] = ran.get(cap, 0.0) + undecided
            mean = sum(n * p for n, p in ran.items())
            row[f"mean_trials_batch_{batch}"] = round(mean, 1)
            row[f"p95_trials_batch_{batch}"] = quantile(ran, 0.95)
            row[f"mean_vs_fixed_batch_{batch}"] = round(mean / fixed, 2)
        row["sprt_reproduced"] = round(sum(r for _, r, _ in stops.values()), 4)
        row["sprt_not_reproduced"] = round(sum(n for _, _, n in stops.values()), 4)
        row["sprt_undecided"] = round(undecided, 6)
        row["fixed_reproduced"] = round(float(sps.binom.sf(critical - 1, fixed, rate)), 4)
        rows.append(row)
    return {
        "test": {"p0": test.p0, "p1": test.p1, "alpha": test.alpha, "beta": test.beta},
        "sprt_cap": cap,
        "fixed_size_trials": fixed,
        "fixed_size_rule": f"reproduced when at least {critical} of {fixed} trials succeed "
        f"(exact one-sided binomial test at alpha {test.alpha}, power {power} at p1)",
        "method": "exact: the distribution of the SPRT's stopping point by dynamic programming "
        "over the trials (no simulation); trials run count every trial of the batch in flight "
        "when the test decides, up to the cap",
        "rates": rows,
    }


def zone(rate: float, test: SequentialTest) -> str:
    if rate <= test.p0:
        return "H0"
    if rate >= test.p1:
        return "H1"
    return "indifference"


def sprt_stopping(
    test: SequentialTest, rate: float
) -> tuple[dict[int, tuple[float, float, float]], float]:
    """{n: (P(stop at n), P(stop at n, reproduced), P(stop at n, not reproduced))} and
    P(undecided at the cap), exactly."""
    going = np.array([1.0])
    stops: dict[int, tuple[float, float, float]] = {}
    for n in range(1, test.max_trials + 1):
        step = np.zeros(n + 1)
        step[:-1] += going * (1.0 - rate)
        step[1:] += going * rate
        k = np.arange(n + 1)
        llr = k * test.step_success + (n - k) * test.step_failure
        up, down = llr >= test.upper, llr <= test.lower
        reproduced, not_reproduced = float(step[up].sum()), float(step[down].sum())
        if reproduced or not_reproduced:
            stops[n] = (reproduced + not_reproduced, reproduced, not_reproduced)
        step[up | down] = 0.0
        going = step
    return stops, float(going.sum())


def quantile(mass: dict[int, float], q: float) -> int:
    total = 0.0
    for n in sorted(mass):
        total += mass[n]
        if total >= q - 1e-12:
            return n
    return max(mass)


def print_savings(savings: dict[str, Any]) -> None:
    print_table(
        f"Sequential (SPRT p0 0.05, p1 0.20, alpha 0.05, beta 0.10, cap {savings['sprt_cap']}): "
        f"trials run (whole batches) vs the fixed-size test of the same alpha and power "
        f"({savings['fixed_size_trials']} trials); exact",
        savings["rates"],
    )


def sequential_only(args: argparse.Namespace) -> None:
    """Recompute the sequential part only, keeping the JSON's throughput part."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    savings = sequential_savings(args.batch_size)
    print_savings(savings)
    data["sequential"] = savings
    data.setdefault("machine", {})["load_average_sequential"] = [
        round(x, 2) for x in os.getloadavg()
    ]
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)} (sequential part)")


def garak_versions() -> dict[str, str]:
    """Versions installed in the garak venv, as `pip freeze` reports them."""
    freeze = subprocess.run(
        [str(GARAK_PYTHON), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    wanted = {"garak", "torch", "transformers", "accelerate", "tokenizers"}
    versions: dict[str, str] = {}
    for line in freeze:
        # "name==version", or "name @ file:///.../name-version-...whl" for a local wheel
        name, _, version = line.partition("==") if "==" in line else line.partition("@")
        if name.strip().lower() in wanted:
            versions[name.strip().lower()] = version.strip()
    return versions


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--sequential-only",
        action="store_true",
        help="only the sequential-testing part (exact, seconds), keeping the last throughput",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (1: on a shared machine, more threads mostly add noise)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of this many, interleaved")
    parser.add_argument(
        "--skip-garak", action="store_true", help="leave garak out (no venv, quicker)"
    )
    args = parser.parse_args()
    if args.sequential_only:
        sequential_only(args)
        return
    if not args.skip_garak:
        ensure_garak_venv()
    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    load_before = os.getloadavg()
    sampling_seen: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        refuser = tiny_models.train_refuser(Path(tmp) / "refuser")
        wider = Path(tmp) / "wider-random"
        torch.manual_seed(0)
        tokenizer = tiny_models.build_tokenizer()
        config = tiny_models.build_config(
            tokenizer, hidden_size=256, intermediate_size=1024, num_hidden_layers=4
        )
        tiny_models.save(transformers.LlamaForCausalLM(config), tokenizer, wider)
        garak = not args.skip_garak
        speed = throughput(
            refuser,
            "tiny refuser",
            args.trials,
            args.batch_size,
            garak,
            args.repeats,
            sampling_seen,
        )
        speed += throughput(
            wider, "wider random", args.trials, args.batch_size, garak, args.repeats, sampling_seen
        )
    load_after = os.getloadavg()
    versus = garak_targets(speed)
    savings = sequential_savings(args.batch_size)
    print_table(
        f"Throughput, {args.trials} trials, batch {args.batch_size}, {MAX_TOKENS} new tokens, "
        f"{torch.get_num_threads()} threads, best of {args.repeats}",
        speed,
    )
    if versus:
        print_table("modelcvd vs garak (target: at least 10x)", versus)
    print_savings(savings)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "torch": torch.__version__,
                    "transformers": transformers.__version__,
                    "cpu_count": os.cpu_count(),
                    "threads": torch.get_num_threads(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after],
                },
                "settings": vars(args) | {"max_new_tokens": MAX_TOKENS},
                "sampling": {
                    "settings": SAMPLING,
                    "note": SAMPLING_NOTE,
                    "per_path": sampling_seen,
                },
                "garak": None if args.skip_garak else garak_versions(),
                "throughput": speed,
                "versus_garak": versus,
                "sequential": savings,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
