"""`modelcvd forensics ...`: how a derived model was made from its base.

    modelcvd forensics compare BASE_DIR DERIVED_DIR [--json] [--behaviour]
                               [--file-report --program SLUG --reporter USERNAME]
    modelcvd forensics find-base DIR [--json]

`compare` works without a database; filing a report and finding a base among registered
artifacts use it. Both read weights with torch (the ml extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from modelcvd.cli.artifacts import artifact_by_id
from modelcvd.cli.base import Command, Group, Output, setup_django, user_named
from modelcvd.cli.errors import CliError, Exit, failure_with

FORENSICS = Group("forensics", "Weight and behaviour forensics.")


def _number(value: float | None, spec: str) -> str:
    return format(value, spec) if value is not None else "-"


def _comparison_text(data: dict[str, Any]) -> str:
    lines = [f"verdict: {data['verdict']}"]
    if data["direction_consistency"] is not None:
        line = f"direction consistency: {data['direction_consistency']:.4f}"
        if data["adjacent_agreement"] is not None:
            line += f"  adjacent layers: {data['adjacent_agreement']:.4f}"
        lines.append(line)
    if data["band"]:
        lines.append(
            f"layers changed: {data['band'][0]}-{data['band'][1]}  "
            f"strength: {data['strength_shape']}"
        )
    lines += [f"  - {line}" for line in data["evidence"]]
    lines += [f"  - tool trace (supporting only): {line}" for line in data["traces"]]
    changed = [m for m in data["layers"] if m["changed"]]
    if changed:
        lines.append(f"\n{'tensor':<48} {'rel.change':>10} {'top1':>6} {'top3':>6} {'dir.cos':>7}")
        lines += [
            f"{m['name'][:48]:<48} {_number(m['relative_change'], '10.4g')} "
            f"{_number(m['energy_top1'], '6.3f')} {_number(m['energy_top3'], '6.3f')} "
            f"{_number(m['direction_cosine'], '7.3f')}"
            for m in changed[:40]
        ]
        if len(changed) > 40:
            lines.append(f"... {len(changed) - 40} more changed tensors (--json lists all)")
    if "behaviour" in data:
        b = data["behaviour"]
        significant = "significant" if b["drop"]["significant"] else "not significant"
        lines.append(
            f"\nrefusal rate: base {b['base']['refusals']}/{b['base']['trials']}, derived "
            f"{b['derived']['refusals']}/{b['derived']['trials']}; drop p = "
            f"{b['drop']['p_value']:.4g} ({significant})"
        )
    if "report" in data:
        lines.append(f"\nreport #{data['report']['id']} filed; case #{data['report']['case_id']}")
    return "\n".join(lines)


def _artifact_for_dir(model_dir: Path, explicit: int | None, flag: str) -> Any:
    from modelcvd.artifacts.models import Artifact

    if explicit is not None:
        return artifact_by_id(explicit)
    artifact = Artifact.objects.filter(local_dir=str(model_dir.resolve())).first()
    if artifact is None:
        raise CliError(
            Exit.NOT_FOUND,
            f"no registered artifact for {model_dir}",
            f"pass {flag} ID or record it with `modelcvd artifact digest DIR --artifact ID`",
        )
    return artifact


class Compare(Command):
    group = FORENSICS
    name = "compare"
    help = "How was DERIVED made from BASE (abliterated, fine-tuned, quantized, ...)."
    prints_data = True
    takes_long = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("base_dir", type=Path, help="the base model's directory")
        parser.add_argument("derived_dir", type=Path, help="the derived model's directory")
        parser.add_argument("--behaviour", action="store_true", help="also probe refusal rates")
        parser.add_argument(
            "--trials-per-probe",
            type=int,
            default=1,
            help="generations per probe prompt of --behaviour (default: %(default)s)",
        )
        parser.add_argument(
            "--file-report", action="store_true", help="file a report if safety-stripped"
        )
        parser.add_argument("--program", help="program slug for --file-report")
        parser.add_argument("--reporter", help="username the report is filed as")
        parser.add_argument("--base-artifact", type=int, help="artifact id of BASE_DIR")
        parser.add_argument("--derived-artifact", type=int, help="artifact id of DERIVED_DIR")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        if args.file_report and not (args.program and args.reporter):
            raise CliError(Exit.USAGE, "--file-report needs --program and --reporter")
        # Weight forensics reads tensors with torch (the ml extra).
        from modelcvd.forensics.weights import compare_dirs

        with out.progress("forensics compare"):
            comparison = compare_dirs(args.base_dir, args.derived_dir)
        data = comparison.to_dict()
        behaviour = None
        if args.behaviour or args.file_report:
            from modelcvd.forensics.behaviour import compare_behaviour_dirs
            from modelcvd.verification.engine.targets.base import TargetError

            try:
                with out.progress("refusal probe"):
                    behaviour = compare_behaviour_dirs(
                        args.base_dir, args.derived_dir, trials_per_probe=args.trials_per_probe
                    )
            except TargetError as error:
                raise failure_with("behaviour probe", error) from None
            data["behaviour"] = behaviour.to_dict()
        if args.file_report:
            assert behaviour is not None
            setup_django()
            from modelcvd.core.errors import InvalidInput
            from modelcvd.reports.services import forensic_report_file

            base = _artifact_for_dir(args.base_dir, args.base_artifact, "--base-artifact")
            derived = _artifact_for_dir(
                args.derived_dir, args.derived_artifact, "--derived-artifact"
            )
            try:
                report = forensic_report_file(
                    actor=user_named(args.reporter),
                    program=args.program,
                    base=base,
                    derived=derived,
                    comparison=comparison,
                    behaviour=behaviour,
                )
            except InvalidInput as error:
                raise failure_with("no report filed", error) from None
            data["report"] = {"id": report.pk, "case_id": report.case_id}
        out.data(data, _comparison_text(data))


class FindBase(Command):
    group = FORENSICS
    name = "find-base"
    help = "Propose the base of DIR among registered artifacts."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("dir", type=Path, help="the model directory whose base is sought")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.artifacts.models import Artifact

        # The base finder compares weights with torch (the ml extra).
        from modelcvd.forensics.base_finder import Candidate, find_base

        candidates = [
            Candidate(key=str(a.pk), label=f"#{a.pk} {a}", model_dir=Path(a.local_dir))
            for a in Artifact.objects.exclude(local_dir="").order_by("pk")
        ]
        with out.progress("forensics find-base"):
            proposal = find_base(args.dir, candidates)
        lines = [
            f"proposed base: {proposal.proposed.candidate.label}"
            if proposal.proposed
            else "no registered artifact fits as the base"
        ]
        lines += [
            f"  {score.score:.3f}  {score.candidate.label}  config {score.config_match:.2f}  "
            f"shapes {score.shape_match:.2f}  identical {score.identical_share:.2f}  "
            f"cosine {score.median_cosine:.3f}"
            for score in proposal.ranking
        ]
        lines += [f"  - {line}" for line in proposal.evidence]
        out.data(proposal.to_dict(), "\n".join(lines))


COMMANDS: list[type[Command]] = [Compare, FindBase]
