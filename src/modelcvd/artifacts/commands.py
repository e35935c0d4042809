"""`modelcvd artifact ...` and `modelcvd forensics ...`.

    modelcvd artifact digest DIR [--json] [--repo ORG/NAME --revision REV] [--artifact ID]
    modelcvd artifact import-cards PATH... [--model-id ORG/NAME] [--json]
    modelcvd artifact supersede ID --by ID
    modelcvd forensics compare BASE_DIR DERIVED_DIR [--json] [--behaviour]
                               [--file-report --program SLUG --reporter USERNAME]
    modelcvd forensics find-base DIR [--json]

`digest` and `compare` work without a database; recording a digest, importing cards, filing a
report and finding a base among registered artifacts use it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or input: one line on stderr, exit 2."""


def _fail(message: str, code: int) -> int:
    print(f"modelcvd: {message}", file=sys.stderr)
    return code


def _django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    django.setup()


def _errors(exc: Any) -> str:
    return "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)


def _snapshot_repo(model_dir: Path) -> tuple[str, str]:
    resolved = model_dir.resolve()
    repo = resolved.parent.parent.name
    if resolved.parent.name == "snapshots" and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/"), resolved.name
    return "", ""


def cmd_digest(args: argparse.Namespace) -> int:
    from modelcvd.artifacts.digest import DigestError, huggingface_purl, model_manifest

    try:
        manifest = model_manifest(args.dir)
        repo, revision = args.repo, args.revision
        if not repo:
            repo, snapshot = _snapshot_repo(args.dir)
            revision = revision or snapshot
        purl = huggingface_purl(repo, revision) if repo else ""
    except DigestError as exc:
        return _fail(str(exc), EXIT_USAGE)
    recorded = None
    if args.artifact is not None:
        _django()
        from modelcvd.artifacts.models import Artifact
        from modelcvd.artifacts.services import artifact_record_manifest
        from modelcvd.core.errors import InvalidInput

        artifact = Artifact.objects.filter(pk=args.artifact).first()
        if artifact is None:
            return _fail(f"no artifact #{args.artifact}", EXIT_USAGE)
        try:
            artifact_record_manifest(
                actor=None,
                artifact=artifact,
                manifest=manifest,
                purl=purl,
                local_dir=str(args.dir.resolve()),
            )
        except InvalidInput as exc:
            return _fail(_errors(exc), EXIT_FAILED)
        recorded = artifact.pk
    if args.json:
        print(json.dumps({**manifest.to_dict(), "purl": purl, "artifact_id": recorded}, indent=2))
        return 0
    for item in manifest.files:
        print(f"{item.sha256}  {item.path}")
    print(f"manifest  sha256:{manifest.digest}")
    print(f"weights   sha256:{manifest.weights_digest}")
    if purl:
        print(f"purl      {purl}")
    if recorded is not None:
        print(f"recorded on artifact #{recorded}")
    return 0


def cmd_import_cards(args: argparse.Namespace) -> int:
    from modelcvd.artifacts.cards import CardError, card_from_directory, cards_from_file

    cards = []
    try:
        for path in args.paths:
            if path.is_dir():
                cards.append(card_from_directory(path, model_id=args.model_id or ""))
            else:
                cards.extend(cards_from_file(path))
    except CardError as exc:
        return _fail(str(exc), EXIT_USAGE)
    _django()
    from modelcvd.artifacts.services import cards_import

    result = cards_import(actor=None, cards=cards)
    if args.json:
        print(
            json.dumps(
                {
                    "created": [a.pk for a in result.created],
                    "linked": [
                        {"id": a.pk, "parent_id": a.parent_id, "relation": a.relation}
                        for a in result.linked
                    ],
                    "notes": result.notes,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{len(cards)} cards: {len(result.created)} artifacts created, {len(result.linked)} linked"
    )
    for artifact in result.linked:
        print(f"  #{artifact.pk} {artifact} <- {artifact.relation} of #{artifact.parent_id}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0


def cmd_supersede(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.artifacts.models import Artifact
    from modelcvd.artifacts.services import artifact_supersede
    from modelcvd.core.errors import InvalidInput

    old = Artifact.objects.filter(pk=args.id).first()
    new = Artifact.objects.filter(pk=args.by).first()
    if old is None or new is None:
        return _fail("no such artifact", EXIT_USAGE)
    try:
        artifact_supersede(actor=None, artifact=old, by=new)
    except InvalidInput as exc:
        return _fail(_errors(exc), EXIT_USAGE)
    print(f"#{old.pk} {old} is superseded by #{new.pk} {new}")
    return 0


def _print_comparison(data: dict[str, Any]) -> None:
    print(f"verdict: {data['verdict']}")
    if data["direction_consistency"] is not None:
        print(f"direction consistency: {data['direction_consistency']:.4f}", end="")
        if data["adjacent_agreement"] is not None:
            print(f"  adjacent layers: {data['adjacent_agreement']:.4f}", end="")
        print()
    if data["band"]:
        print(
            f"layers changed: {data['band'][0]}-{data['band'][1]}  strength: {data['strength_shape']}"
        )
    for line in data["evidence"]:
        print(f"  - {line}")
    for line in data["traces"]:
        print(f"  - tool trace (supporting only): {line}")
    changed = [m for m in data["layers"] if m["changed"]]
    if changed:
        print(f"\n{'tensor':<48} {'rel.change':>10} {'top1':>6} {'top3':>6} {'dir.cos':>7}")
        for m in changed[:40]:

            def f(v: float | None, spec: str) -> str:
                return format(v, spec) if v is not None else "-"

            print(
                f"{m['name'][:48]:<48} {f(m['relative_change'], '10.4g')} "
                f"{f(m['energy_top1'], '6.3f')} {f(m['energy_top3'], '6.3f')} "
                f"{f(m['direction_cosine'], '7.3f')}"
            )
        if len(changed) > 40:
            print(f"... {len(changed) - 40} more changed tensors (--json lists all)")
    if "behaviour" in data:
        b = data["behaviour"]
        print(
            f"\nrefusal rate: base {b['base']['refusals']}/{b['base']['trials']}, derived "
            f"{b['derived']['refusals']}/{b['derived']['trials']}; drop p = "
            f"{b['drop']['p_value']:.4g} ({'significant' if b['drop']['significant'] else 'not significant'})"
        )


def _artifact_for_dir(model_dir: Path, explicit: int | None, flag: str) -> Any:
    from modelcvd.artifacts.models import Artifact

    if explicit is not None:
        artifact = Artifact.objects.filter(pk=explicit).first()
    else:
        artifact = Artifact.objects.filter(local_dir=str(model_dir.resolve())).first()
    if artifact is None:
        raise UsageError(
            f"no registered artifact for {model_dir}: pass {flag} ID or record it with "
            "`modelcvd artifact digest DIR --artifact ID`"
        )
    return artifact


def cmd_compare(args: argparse.Namespace) -> int:
    from modelcvd.forensics.weights import ForensicsError, compare_dirs

    if args.file_report and not (args.program and args.reporter):
        return _fail("--file-report needs --program and --reporter", EXIT_USAGE)
    try:
        comparison = compare_dirs(args.base_dir, args.derived_dir)
    except ForensicsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    data = comparison.to_dict()
    behaviour = None
    if args.behaviour or args.file_report:
        from modelcvd.forensics.behaviour import compare_behaviour_dirs
        from modelcvd.verification.engine.targets.base import TargetError

        try:
            behaviour = compare_behaviour_dirs(
                args.base_dir, args.derived_dir, trials_per_probe=args.trials_per_probe
            )
        except TargetError as exc:
            return _fail(f"behaviour probe: {exc}", EXIT_FAILED)
        data["behaviour"] = behaviour.to_dict()
    if args.file_report:
        assert behaviour is not None
        _django()
        from modelcvd.accounts.selectors import user_by_username
        from modelcvd.artifacts.forensic_reports import forensic_report_file
        from modelcvd.core.errors import InvalidInput

        try:
            base = _artifact_for_dir(args.base_dir, args.base_artifact, "--base-artifact")
            derived = _artifact_for_dir(
                args.derived_dir, args.derived_artifact, "--derived-artifact"
            )
        except UsageError as exc:
            return _fail(str(exc), EXIT_USAGE)
        reporter = user_by_username(args.reporter)
        if reporter is None:
            return _fail(f"no user {args.reporter!r}", EXIT_USAGE)
        try:
            report = forensic_report_file(
                actor=reporter,
                program=args.program,
                base=base,
                derived=derived,
                comparison=comparison,
                behaviour=behaviour,
            )
        except InvalidInput as exc:
            return _fail(f"no report filed: {_errors(exc)}", EXIT_FAILED)
        data["report"] = {"id": report.pk, "case_id": report.case_id}
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        _print_comparison(data)
        if "report" in data:
            print(f"\nreport #{data['report']['id']} filed; case #{data['report']['case_id']}")
    return 0


def cmd_find_base(args: argparse.Namespace) -> int:
    from modelcvd.forensics.base_finder import Candidate, find_base
    from modelcvd.forensics.weights import ForensicsError

    _django()
    from modelcvd.artifacts.models import Artifact

    candidates = [
        Candidate(key=str(a.pk), label=f"#{a.pk} {a}", model_dir=Path(a.local_dir))
        for a in Artifact.objects.exclude(local_dir="").order_by("pk")
    ]
    try:
        proposal = find_base(args.dir, candidates)
    except ForensicsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if args.json:
        print(json.dumps(proposal.to_dict(), indent=2))
        return 0
    if proposal.proposed:
        print(f"proposed base: {proposal.proposed.candidate.label}")
    else:
        print("no registered artifact fits as the base")
    for score in proposal.ranking:
        print(
            f"  {score.score:.3f}  {score.candidate.label}  config {score.config_match:.2f}  "
            f"shapes {score.shape_match:.2f}  identical {score.identical_share:.2f}  "
            f"cosine {score.median_cosine:.3f}"
        )
    for line in proposal.evidence:
        print(f"  - {line}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `artifact` and `forensics` to the `modelcvd` command."""
    artifact = subparsers.add_parser("artifact", help="artifact identity and lineage")
    sub = artifact.add_subparsers(dest="artifact_command", required=True, metavar="ACTION")

    p = sub.add_parser(
        "digest",
        help="manifest and combined sha256 of a model directory, and its purl",
        description="Hash every safetensors shard and config/tokenizer file (streamed), combine "
        "them as OpenSSF model-signing does, and optionally record it on an artifact.",
    )
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--repo", default="", help="ORG/NAME for the purl (a hub cache snapshot names itself)"
    )
    p.add_argument("--revision", default="", help="commit for the purl")
    p.add_argument(
        "--artifact", type=int, help="record on this artifact, with DIR as its local copy"
    )
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser(
        "import-cards",
        help="parent relations from model cards (README.md front matter, or a JSON/YAML list)",
    )
    p.add_argument("paths", type=Path, nargs="+", help="model directories or card list files")
    p.add_argument("--model-id", help="ORG/NAME of a directory whose card does not say")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_cards)

    p = sub.add_parser("supersede", help="record the version that replaces an artifact")
    p.add_argument("id", type=int)
    p.add_argument("--by", type=int, required=True)
    p.set_defaults(func=cmd_supersede)

    forensics = subparsers.add_parser("forensics", help="weight and behaviour forensics")
    fsub = forensics.add_subparsers(dest="forensics_command", required=True, metavar="ACTION")
    p = fsub.add_parser(
        "compare",
        help="how was DERIVED made from BASE (abliterated, fine-tuned, quantized, ...)",
    )
    p.add_argument("base_dir", type=Path)
    p.add_argument("derived_dir", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--behaviour", action="store_true", help="also probe refusal rates")
    p.add_argument("--trials-per-probe", type=int, default=1)
    p.add_argument("--file-report", action="store_true", help="file a report if safety-stripped")
    p.add_argument("--program", help="program slug for --file-report")
    p.add_argument("--reporter", help="username the report is filed as")
    p.add_argument("--base-artifact", type=int, help="artifact id of BASE_DIR")
    p.add_argument("--derived-artifact", type=int, help="artifact id of DERIVED_DIR")
    p.set_defaults(func=cmd_compare)

    p = fsub.add_parser("find-base", help="propose the base of DIR among registered artifacts")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_find_base)
