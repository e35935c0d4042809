"""`modelcvd artifact ...`: artifact identity and lineage.

    modelcvd artifact digest DIR [--json] [--repo ORG/NAME --revision REV] [--artifact ID]
    modelcvd artifact import-cards PATH... [--model-id ORG/NAME] [--json]
    modelcvd artifact supersede ID --by ID

`digest` works without a database; recording a digest and importing cards use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from modelcvd.cli.base import Command, Group, Output, setup_django
from modelcvd.cli.errors import CliError, Exit

ARTIFACT = Group("artifact", "Artifact identity and lineage.")


def artifact_by_id(artifact_id: int) -> Any:
    """A registered artifact; a missing one is answered alike by every command."""
    from modelcvd.artifacts.models import Artifact

    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if artifact is None:
        raise CliError(Exit.NOT_FOUND, f"no artifact #{artifact_id}", "check the artifact id")
    return artifact


def _snapshot_repo(model_dir: Path) -> tuple[str, str]:
    resolved = model_dir.resolve()
    repo = resolved.parent.parent.name
    if resolved.parent.name == "snapshots" and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/"), resolved.name
    return "", ""


class Digest(Command):
    group = ARTIFACT
    name = "digest"
    help = "Manifest and combined sha256 of a model directory, and its purl."
    description = (
        "Hash every safetensors shard and config/tokenizer file (streamed), combine them as "
        "OpenSSF model-signing does, and optionally record it on an artifact."
    )
    prints_data = True
    takes_long = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("dir", type=Path, help="the model directory")
        parser.add_argument(
            "--repo", default="", help="ORG/NAME for the purl (a hub cache snapshot names itself)"
        )
        parser.add_argument("--revision", default="", help="commit for the purl")
        parser.add_argument(
            "--artifact", type=int, help="record on this artifact, with DIR as its local copy"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.artifacts.digest import huggingface_purl, model_manifest

        with out.progress("artifact digest"):
            manifest = model_manifest(args.dir)
        repo, revision = args.repo, args.revision
        if not repo:
            repo, snapshot = _snapshot_repo(args.dir)
            revision = revision or snapshot
        purl = huggingface_purl(repo, revision) if repo else ""
        recorded = None
        if args.artifact is not None:
            setup_django()
            from modelcvd.artifacts.services import artifact_record_manifest

            artifact = artifact_by_id(args.artifact)
            artifact_record_manifest(
                actor=None,
                artifact=artifact,
                manifest=manifest,
                purl=purl,
                local_dir=str(args.dir.resolve()),
            )
            recorded = artifact.pk
        lines = [f"{item.sha256}  {item.path}" for item in manifest.files]
        lines += [
            f"manifest  sha256:{manifest.digest}",
            f"weights   sha256:{manifest.weights_digest}",
        ]
        if purl:
            lines.append(f"purl      {purl}")
        if recorded is not None:
            lines.append(f"recorded on artifact #{recorded}")
        out.data({**manifest.to_dict(), "purl": purl, "artifact_id": recorded}, "\n".join(lines))


class ImportCards(Command):
    group = ARTIFACT
    name = "import-cards"
    help = "Parent relations from model cards (README.md front matter, or a JSON/YAML list)."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "paths", type=Path, nargs="+", help="model directories or card list files"
        )
        parser.add_argument("--model-id", help="ORG/NAME of a directory whose card does not say")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.artifacts.cards import card_from_directory, cards_from_file
        from modelcvd.artifacts.services import cards_import

        cards = []
        for path in args.paths:
            if path.is_dir():
                cards.append(card_from_directory(path, model_id=args.model_id or ""))
            else:
                cards.extend(cards_from_file(path))
        result = cards_import(actor=None, cards=cards)
        lines = [
            f"{len(cards)} cards: {len(result.created)} artifacts created, "
            f"{len(result.linked)} linked",
            *(f"  #{a.pk} {a} <- {a.relation} of #{a.parent_id}" for a in result.linked),
            *(f"  note: {note}" for note in result.notes),
        ]
        out.data(
            {
                "created": [a.pk for a in result.created],
                "linked": [
                    {"id": a.pk, "parent_id": a.parent_id, "relation": a.relation}
                    for a in result.linked
                ],
                "notes": result.notes,
            },
            "\n".join(lines),
        )


class Supersede(Command):
    group = ARTIFACT
    name = "supersede"
    help = "Record the version that replaces an artifact."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("id", type=int, help="the artifact that is replaced")
        parser.add_argument("--by", type=int, required=True, help="the artifact that replaces it")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.artifacts.services import artifact_supersede

        old, new = artifact_by_id(args.id), artifact_by_id(args.by)
        artifact_supersede(actor=None, artifact=old, by=new)
        out.data(
            {"id": old.pk, "superseded_by": new.pk},
            f"#{old.pk} {old} is superseded by #{new.pk} {new}",
        )


COMMANDS: list[type[Command]] = [Digest, ImportCards, Supersede]
