"""`modelcvd backup` and `modelcvd restore`: the whole database in one archive, keys apart."""

from __future__ import annotations

import argparse
from pathlib import Path

from modelcvd.cli.base import Command, Output


class Backup(Command):
    name = "backup"
    help = "Write the database (sealed data included) and key fingerprints to a tar archive."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("out", help="a new file to write; a name ending in .gz compresses")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.anchoring.services import audit_checkpoint
        from modelcvd.anchoring.witness import AnchorDiverged
        from modelcvd.core.backup import backup_create

        # The audit chain's head is anchored (log and witness file) first, so the backup holds
        # a checkpoint of itself. A chain that diverges is still backed up, loudly.
        checkpoint: dict[str, object] = {}
        try:
            done = audit_checkpoint()
            checkpoint = {"log_index": done.log_index, "last_seq": done.last_seq}
        except AnchorDiverged as exc:
            checkpoint = {"refused": exc.problems}
            out.note(
                "warning: audit checkpoint refused, the chain diverged: " + "; ".join(exc.problems)
            )
        with out.progress("backup"):
            manifest = backup_create(Path(args.out))
        rows = sum(m["rows"] for m in manifest["members"].values())
        out.data(
            {"archive": args.out, "rows": rows, "audit_checkpoint": checkpoint, **manifest},
            f"backup written to {args.out}: {rows} rows in {len(manifest['members'])} tables, "
            f"{len(manifest['keys'])} key fingerprint(s); the keys themselves are not in it",
        )


class Restore(Command):
    name = "restore"
    help = "Restore a backup into this instance (checks hashes and the key file first)."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("archive", help="a file written by `modelcvd backup`")
        parser.add_argument(
            "--force", action="store_true", help="replace the data of a database that is not empty"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.backup import backup_restore

        with out.progress("restore"):
            result = backup_restore(Path(args.archive), force=args.force)
        out.data(
            {"archive": args.archive, "rows": result.rows, "tables": result.tables},
            f"restored {result.rows} rows in {result.tables} tables from {args.archive}",
        )


COMMANDS: list[type[Command]] = [Backup, Restore]
