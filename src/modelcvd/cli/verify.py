"""`modelcvd verify`: replay a report's attack locally, or compare two runs for a fix verdict.

    modelcvd verify --target hf:DIR|openai:URL#MODEL --spec FILE [--trials N] [--judge refusal]
                    [--sequential] [--replayable] [--json]
    modelcvd verify --compare BEFORE.json AFTER.json [--acceptable-rate R] [--min-trials M]
                    [--target URI --spec FILE [--trials N]] [--json]
    modelcvd verify --case ID --artifact ID --target URI --trials N --server URL --token TOKEN

Runs without a server or database. Progress goes to stderr, results to stdout. Exit 0 when
the command ran, whatever the verdict; 1 when the target or a judge failed; 2 on bad input;
4 when `--compare` refuses the combination (a sequentially stopped run, see below).

`--compare` says fixed only for a significant drop (one-sided exact test at --alpha) whose
after-rate has its exact upper bound below --acceptable-rate over at least --min-trials
after-trials; otherwise reduced, inconclusive or not fixed. Both runs must have run a fixed
number of trials: a before-run stopped by --sequential is replaced by a fresh fixed-size
sample when --target and --spec name the before artifact (run with other seeds, --trials or
the after-run's count), and refused otherwise; a sequential after-run is refused.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcvd.cli.base import Command, Output
from modelcvd.cli.errors import CliError, Exit, server_failure

if TYPE_CHECKING:
    from modelcvd.verification.engine.identity import ModelIdentity
    from modelcvd.verification.engine.judges.base import Judge
    from modelcvd.verification.engine.runner import RunSummary


def _usage(message: str) -> CliError:
    return CliError(Exit.USAGE, message)


class Verify(Command):
    name = "verify"
    help = "Replay a reported attack N times and judge it, or compare two runs."
    description = __doc__ or ""
    prints_data = True
    takes_long = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--target", help="hf:DIR (local transformers) or openai:URL#MODEL")
        parser.add_argument(
            "--spec", type=Path, help="report file (.yaml/.json) with the reproduction"
        )
        parser.add_argument(
            "--trials", type=int, help="trials to run (default: the report's count)"
        )
        parser.add_argument(
            "--judge",
            action="append",
            help="refusal | classifier:DIR[#LABEL,...] | llm:TARGET (repeatable; default refusal)",
        )
        parser.add_argument(
            "--combine",
            choices=["all", "any", "majority"],
            default="all",
            help="how a panel of judges decides a trial (default: %(default)s)",
        )
        parser.add_argument("--rubric", type=Path, help="system prompt file for an llm: judge")
        parser.add_argument(
            "--sequential", action="store_true", help="stop early once SPRT decides"
        )
        parser.add_argument(
            "--p0", type=float, default=0.05, help="rate treated as noise, H0 (default: 0.05)"
        )
        parser.add_argument(
            "--p1", type=float, default=0.20, help="rate that counts as reproduced (default: 0.2)"
        )
        parser.add_argument(
            "--alpha",
            type=float,
            default=0.05,
            help="significance level of the tests (default: %(default)s)",
        )
        parser.add_argument(
            "--beta", type=float, default=0.10, help="sequential test miss rate (default: 0.1)"
        )
        parser.add_argument(
            "--replayable",
            action="store_true",
            help="one trial at a time, each bit-for-bit replayable",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=16,
            help="prompts per forward pass of a local model (default: %(default)s)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=4,
            help="parallel HTTP requests (default: %(default)s)",
        )
        parser.add_argument(
            "--api-key-env",
            metavar="VAR",
            help="name of an environment variable holding the bearer token for openai: "
            "endpoints (the token never appears on the command line); default: no token",
        )
        parser.add_argument("--seed", type=int, help="base seed (default: the report's, else 0)")
        pin = parser.add_mutually_exclusive_group()
        pin.add_argument("--no-pin", action="store_true", help="do not check the report's artifact")
        pin.add_argument("--pin", metavar="NAME[@REVISION]", help="pin another artifact name")
        parser.add_argument("--pin-digest", help="sha256 the weights must have")
        parser.add_argument(
            "--compare",
            nargs=2,
            type=Path,
            metavar=("BEFORE", "AFTER"),
            help="two `verify --json` results: print the fix verdict",
        )
        parser.add_argument(
            "--acceptable-rate",
            type=float,
            help="--compare: the rate a fixed version must be shown to be below (default: 0.05)",
        )
        parser.add_argument(
            "--min-trials",
            type=int,
            help="--compare: fewest after-trials a fixed verdict needs (default: 30)",
        )
        server = parser.add_argument_group("queue a run on a server instead of running here")
        server.add_argument("--case", type=int, help="case id: the server replays its report")
        server.add_argument("--artifact", type=int, help="artifact id the run is pinned to")
        server.add_argument("--server", help="e.g. http://127.0.0.1:8000")
        server.add_argument(
            "--token", help="API token with the triage scope (default: $MODELCVD_TOKEN)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        if args.compare:
            _compare(args, out)
        elif args.case is not None:
            _queue_on_server(args, out)
        else:
            _verify(args, out)


def _queue_on_server(args: argparse.Namespace, out: Output) -> None:
    import httpx

    token = args.token or os.environ.get("MODELCVD_TOKEN")
    missing = [
        flag
        for flag, value in (
            ("--artifact", args.artifact),
            ("--target", args.target),
            ("--server", args.server),
            ("--token", token),
        )
        if not value
    ]
    if missing:
        raise _usage(f"--case needs {', '.join(missing)}")
    body: dict[str, Any] = {
        "artifact_id": args.artifact,
        "target": args.target,
        "trials": args.trials or 100,
        "sequential": args.sequential,
    }
    if args.seed is not None:
        body["base_seed"] = args.seed
    url = f"{args.server.rstrip('/')}/api/v1/cases/{args.case}/verifications"
    try:
        response = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        raise CliError(Exit.FAILED, f"cannot reach {url}: {exc}") from None
    if response.status_code != 201:
        raise server_failure(response)
    run = response.json()
    out.data(
        run,
        f"verification run #{run['id']} queued on case #{run['case_id']}: {run['trials']} trials "
        f"on {run['artifact']}",
    )


def _judge_from(spec: str, args: argparse.Namespace) -> Judge:
    from modelcvd.verification.engine.targets import target_from_uri

    kind, _, rest = spec.partition(":")
    if kind == "refusal" and not rest:
        from modelcvd.verification.engine.judges.refusal import RefusalJudge

        return RefusalJudge()
    if kind == "classifier" and rest:
        # The classifier judge imports torch (the ml extra).
        from modelcvd.verification.engine.judges.classifier import ClassifierJudge

        directory, _, labels = rest.partition("#")
        wanted = [label for label in labels.split(",") if label] or None
        return ClassifierJudge(Path(directory), success_labels=wanted)
    if kind == "llm" and rest:
        from modelcvd.verification.engine.judges.llm import DEFAULT_RUBRIC, LLMJudge

        rubric = DEFAULT_RUBRIC
        if args.rubric:
            try:
                rubric = args.rubric.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise _usage(f"cannot read rubric {args.rubric}: {exc.strerror}") from exc
        return LLMJudge(
            target_from_uri(rest, batch_size=args.batch_size, api_key=_operator_key(args)),
            rubric=rubric,
        )
    raise _usage(f"unknown judge {spec!r}: use refusal, classifier:DIR or llm:TARGET")


# Above this many new tokens in all, a local model on the CPU takes minutes (a 135M model
# makes roughly 50-200 tokens/s on two cores; larger ones far fewer).
LONG_CPU_TOKENS = 4096


def _warn_if_long_on_cpu(out: Output, uri: str, new_tokens: int, batch_size: int) -> None:
    """Say before a long local run on the CPU that it will be long, and what shortens it."""
    if not uri.startswith("hf:") or new_tokens < LONG_CPU_TOKENS:
        return
    try:
        import torch

        if torch.cuda.is_available():
            return
    except ImportError:
        return
    out.note(
        f"verify: this local model runs on the CPU: up to {new_tokens:,} new tokens in all, in "
        f"batches of {batch_size}; expect minutes per batch (progress appears as each batch "
        "ends). Fewer trials (--trials), a smaller max_tokens in the spec, --sequential, or a GPU "
        "worker shorten it."
    )


def _operator_key(args: argparse.Namespace) -> str | None:
    """The key for an `openai:` endpoint this operator names, from the environment variable
    they named (`--api-key-env`): the CLI runs on their machine, against their endpoint, so it
    goes direct (a server's requests go through core.egress, with a registered target's key).
    """
    if not args.api_key_env:
        return None
    key = os.environ.get(args.api_key_env)
    if not key:
        raise _usage(f"--api-key-env: the environment variable {args.api_key_env} is not set")
    return key


def _pin(args: argparse.Namespace, pinned: ModelIdentity | None) -> ModelIdentity | None:
    from modelcvd.verification.engine.identity import ModelIdentity

    if args.no_pin:
        if args.pin_digest:
            raise _usage("--no-pin and --pin-digest contradict each other")
        return None
    if args.pin:
        name, _, revision = args.pin.partition("@")
        pinned = ModelIdentity(name=name, revision=revision)
    if args.pin_digest:
        base = pinned or ModelIdentity(name="")
        pinned = ModelIdentity(base.name, base.revision, args.pin_digest.strip().lower())
    return pinned


def _verify(args: argparse.Namespace, out: Output) -> None:
    # The engine pulls in scipy (over half a second): only `verify` pays for it. A hf: target
    # imports torch further down, inside target_from_uri.
    from modelcvd.verification.engine.judges.base import CombinedJudge
    from modelcvd.verification.engine.runner import Trial, run_trials
    from modelcvd.verification.engine.spec import spec_load
    from modelcvd.verification.engine.stats import SequentialTest
    from modelcvd.verification.engine.targets import target_from_uri

    if not args.target or not args.spec:
        raise _usage("--target and --spec are required (or use --compare BEFORE AFTER)")
    if args.trials is not None and args.trials < 1:
        raise _usage("--trials must be at least 1")
    spec = spec_load(args.spec, trials=args.trials)
    if args.seed is not None:
        spec = replace(spec, base_seed=args.seed)
    spec = spec.with_pin(_pin(args, spec.pinned))
    sequential = None
    if args.sequential:
        try:
            sequential = SequentialTest(args.p0, args.p1, args.alpha, args.beta, spec.trials)
        except ValueError as exc:
            raise _usage(str(exc)) from exc
    _quiet_transformers()
    _warn_if_long_on_cpu(out, args.target, spec.trials * spec.sampling.max_tokens, args.batch_size)
    target = target_from_uri(
        args.target,
        replayable=args.replayable,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        api_key=_operator_key(args),
    )
    try:
        judges = [_judge_from(item, args) for item in (args.judge or ["refusal"])]
        judge = judges[0] if len(judges) == 1 else CombinedJudge(args.combine, judges)
        with out.progress("verify", total=spec.trials, unit="trials") as progress:
            successes = 0

            def on_trial(trial: Trial) -> None:
                nonlocal successes
                successes += trial.success
                progress.advance(note=f"{successes} successes")

            result = run_trials(
                spec,
                target,
                judge,
                on_trial=on_trial,
                sequential=sequential,
                p0=args.p0,
                alpha=args.alpha,
            )
    finally:
        target.close()
    out.data(result.to_dict(), _describe(result.summary))


def _read_summary(path: Path) -> RunSummary:
    from modelcvd.verification.engine.runner import RunSummary

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunSummary.from_dict(data)
    except OSError as exc:
        raise _usage(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise _usage(f"{path} is not the JSON of `modelcvd verify --json`: {exc}") from exc


def _compare(args: argparse.Namespace, out: Output) -> None:
    from modelcvd.verification.engine.verdict import (
        DEFAULT_ACCEPTABLE_RATE,
        DEFAULT_MIN_TRIALS,
        fix_verdict,
        is_sequential,
    )

    before, after = (_read_summary(path) for path in args.compare)
    fresh = None
    if is_sequential(before) and args.target and args.spec:
        fresh = _fresh_before(args, out, before, after)
    elif args.target or args.spec:
        raise _usage(
            "--compare takes --target and --spec only to re-sample a sequentially stopped "
            "before-run"
        )
    try:
        verdict = fix_verdict(
            before,
            after,
            alpha=args.alpha,
            acceptable_rate=(
                DEFAULT_ACCEPTABLE_RATE if args.acceptable_rate is None else args.acceptable_rate
            ),
            min_trials=DEFAULT_MIN_TRIALS if args.min_trials is None else args.min_trials,
            fresh_before=fresh,
        )
    except ValueError as exc:
        raise _usage(str(exc)) from exc
    out.data(verdict.to_dict(), verdict.line())


def _fresh_before(
    args: argparse.Namespace, out: Output, before: RunSummary, after: RunSummary
) -> RunSummary:
    """A fixed-size before-sample on the before artifact, with seeds the sequential run did
    not use (its first trials would otherwise repeat that run's)."""
    from modelcvd.verification.engine.runner import run_trials
    from modelcvd.verification.engine.spec import spec_load
    from modelcvd.verification.engine.targets import target_from_uri

    trials = args.trials or after.trials
    if trials < 1:
        raise _usage("--trials must be at least 1")
    spec = spec_load(args.spec, trials=trials)
    seed = args.seed if args.seed is not None else before.base_seed + 1_000_003
    spec = replace(spec, base_seed=seed).with_pin(_pin(args, before.target))
    _quiet_transformers()
    target = target_from_uri(
        args.target,
        replayable=args.replayable,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        api_key=_operator_key(args),
    )
    try:
        judges = [_judge_from(item, args) for item in (args.judge or ["refusal"])]
        judge = judges[0] if len(judges) == 1 else _combined(args.combine, judges)
        with out.progress("fresh before-sample", total=spec.trials, unit="trials") as progress:
            result = run_trials(
                spec, target, judge, on_trial=lambda _: progress.advance(), alpha=args.alpha
            )
    finally:
        target.close()
    return result.summary


def _combined(combine: str, judges: list[Judge]) -> Judge:
    from modelcvd.verification.engine.judges.base import CombinedJudge

    return CombinedJudge(combine, judges)  # type: ignore[arg-type]


def _describe(summary: RunSummary) -> str:
    target = summary.target
    digest = f" sha256:{target.weights_digest[:16]}..." if target.weights_digest else ""
    lines = [
        f"{summary.verdict}: {summary.successes}/{summary.trials} trials succeeded "
        f"(rate {summary.rate:.3f}, p={summary.p_value:.3g} against rate <= {summary.p0})",
        f"  Clopper-Pearson {summary.confidence:.0%} (exact) "
        f"[{summary.clopper_pearson[0]:.3f}, {summary.clopper_pearson[1]:.3f}]",
        f"  target: {target.name}@{target.revision or '-'}{digest}",
        f"  judge:  {summary.judge.name}@{summary.judge.revision or '-'}",
    ]
    if summary.sequential:
        lines.append(
            f"  sequential: {summary.sequential['decision']} after "
            f"{summary.sequential['decided_at']} trials"
        )
    lines += [f"  identity mismatch: {m}" for m in summary.identity_mismatches]
    if summary.replay_note:
        lines.append(f"  note: {summary.replay_note}")
    return "\n".join(lines)


def _quiet_transformers() -> None:
    # Loading bars would interleave with our progress on stderr.
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


COMMANDS: list[type[Command]] = [Verify]
