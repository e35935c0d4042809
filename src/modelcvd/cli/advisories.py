"""`modelcvd export`, `modelcvd import` and `modelcvd commitment` (verify, reveal).

export: one file per published advisory, at the public level (or --level defender), each
  format built through the same redaction as every other channel. Each advisory is rendered
  and validated on its own: one that cannot be written is listed with its reason, the others
  are written, and the exit status is 1 when any failed (0 when some were only skipped, e.g.
  a CVE record for an advisory without a CVE id of this instance's CNA).
import: garak / jailbreakbench / avid files become draft reports; cve records become aliasing
  records; prints what was imported and what was skipped and why.
commitment verify: checks a revealed payload and salt against a published commitment (no
  database needed). commitment reveal: a coordinator writes the payload and salt of an
  advisory's commitment to files (audited), so the reporter can prove what they found.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from modelcvd.cli.base import Command, Group, Output, read_text, user_named
from modelcvd.cli.errors import CliError, Exit

# Kept here, not imported: the parser is built before Django is set up.
FORMATS = ("cve5", "osv", "csaf", "avid")
# The whole CSAF trusted provider tree (docs/csaf-provider.md), public level only.
CSAF_PROVIDER = "csaf-provider"
SOURCES = ("garak", "jailbreakbench", "avid", "cve")

COMMITMENT = Group("commitment", "Payload commitments: verify or reveal.")


class Export(Command):
    name = "export"
    help = "Write published advisories as CVE 5.1, OSV, CSAF 2.0 VEX or AVID, one file each."
    description = "Write published advisories, one file per advisory."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--format",
            required=True,
            choices=[*FORMATS, CSAF_PROVIDER],
            help=f"the file format; {CSAF_PROVIDER}: the whole CSAF provider tree as served "
            "under /.well-known/csaf/ (public level, signed)",
        )
        parser.add_argument("--out", required=True, help="directory to write into")
        parser.add_argument(
            "--advisory", action="append", help="MCVD id (repeatable; default: all)"
        )
        parser.add_argument(
            "--level",
            default="public",
            choices=["public", "defender"],
            help="disclosure level of the files (default: %(default)s)",
        )

    def run(self, args: argparse.Namespace, out: Output) -> int:
        from modelcvd.advisories.models import Advisory
        from modelcvd.advisories.render import (
            ExportRefused,
            export_file_name,
            export_view,
            render_at,
        )
        from modelcvd.advisories.selectors import PUBLIC_STATES
        from modelcvd.interop.jsonio import document_bytes
        from modelcvd.policy.disclosure import Channel, Level

        level = Level.parse(args.level)
        if level > Channel.EXPORT.ceiling:
            raise CliError(Exit.REFUSED, "exports carry at most the defender level")
        if args.format == CSAF_PROVIDER:
            return self._csaf_provider(args, out)
        rows = Advisory.objects.filter(state__in=PUBLIC_STATES).order_by("advisory_id")
        if args.advisory:
            rows = rows.filter(advisory_id__in=args.advisory)
            missing = set(args.advisory) - set(rows.values_list("advisory_id", flat=True))
            if missing:
                raise CliError(
                    Exit.NOT_FOUND,
                    f"no published advisory {', '.join(sorted(missing))}",
                    "check the MCVD ids; only published advisories export",
                )
        directory = Path(args.out)
        directory.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        # One advisory's problem never stops the others: each is rendered and validated on its
        # own, and what was not written is listed with the reason.
        failed: list[dict[str, str]] = []
        skipped: list[dict[str, str]] = []
        with out.progress("export", total=rows.count(), unit="advisories") as progress:
            for advisory in rows.iterator(chunk_size=500):
                try:
                    document = export_view(render_at(advisory, level), args.format)
                except ExportRefused as refused:
                    entry = {"advisory": advisory.advisory_id, "reason": refused.reason}
                    (skipped if refused.skipped else failed).append(entry)
                else:
                    path = directory / export_file_name(advisory.advisory_id, args.format)
                    path.write_bytes(document_bytes(document))
                    written.append(str(path))
                progress.advance()
        lines = [
            f"wrote {len(written)} {args.format} file(s) at the {level.label} level to {directory}",
            *(f"skipped {e['advisory']}: {e['reason']}" for e in skipped),
            *(f"FAILED  {e['advisory']}: {e['reason']}" for e in failed),
        ]
        if failed:
            lines.append(f"{len(failed)} advisory(ies) failed; the others were written")
        out.data(
            {
                "format": args.format,
                "level": level.label,
                "out": str(directory),
                "files": written,
                "skipped": skipped,
                "failed": failed,
            },
            "\n".join(lines),
        )
        return Exit.FAILED if failed else Exit.DONE

    def _csaf_provider(self, args: argparse.Namespace, out: Output) -> int:
        from modelcvd.advisories.csaf_provider import provider_files

        if args.level != "public" or args.advisory:
            raise CliError(
                Exit.REFUSED,
                f"--format {CSAF_PROVIDER} writes every public advisory at the public level",
                "leave out --level and --advisory",
            )
        directory = Path(args.out)
        written: list[str] = []
        for relative, data in provider_files():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(str(path))
        documents = sum(1 for f in written if f.endswith(".json.asc"))
        out.data(
            {"format": CSAF_PROVIDER, "level": "public", "out": str(directory), "files": written},
            f"wrote the CSAF provider tree ({documents} document(s), {len(written)} files) "
            f"to {directory}",
        )
        return Exit.DONE


class Import(Command):
    name = "import"
    help = "Import garak, JailbreakBench, AVID or CVE records as draft reports and advisories."
    description = (
        "Import files; prints what was imported and what was skipped and why. Importing a "
        "record again updates what it created (never a second case)."
    )
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "source", choices=SOURCES, help="the tool or format the files come from"
        )
        parser.add_argument("files", nargs="+", help="the files to import")
        parser.add_argument(
            "--program",
            help="program slug the draft reports are filed under (optional for cve: without "
            "one, CVE records are kept for aliasing only)",
        )
        parser.add_argument("--user", required=True, help="the account the imports are filed by")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.advisories.imports import cves_import, reports_import

        actor = user_named(args.user)
        paths = [Path(p) for p in args.files]
        if args.source != "cve" and not args.program:
            raise CliError(Exit.USAGE, "--program is required for report imports")
        with out.progress("import"):
            if args.source == "cve":
                outcome = cves_import(paths=paths, actor=actor, program=args.program or "")
            else:
                outcome = reports_import(
                    source=args.source, paths=paths, program=args.program, actor=actor
                )
        lines = [
            *(f"imported  {where}: {what}" for where, what in outcome.imported),
            *(f"skipped   {where}: {why}" for where, why in outcome.skipped),
            *(f"note      {where}: {note}" for where, note in outcome.notes),
            f"{len(outcome.imported)} imported, {len(outcome.skipped)} skipped",
        ]
        out.data(
            {
                "imported": [{"where": w, "what": x} for w, x in outcome.imported],
                "skipped": [{"where": w, "why": x} for w, x in outcome.skipped],
                "notes": [{"where": w, "note": x} for w, x in outcome.notes],
                "report_ids": outcome.report_ids,
                "advisory_ids": outcome.advisory_ids,
            },
            "\n".join(lines),
        )


class CommitmentVerify(Command):
    group = COMMITMENT
    name = "verify"
    help = "Check a revealed payload and salt against a commitment."
    description = "Exit 0 when PAYLOAD (JSON) and SALT (hex file) open COMMITMENT, else 1."
    prints_data = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--commitment", required=True, help="e.g. sha256-salted-v1:<64 hex>")
        parser.add_argument("--payload", required=True, help="the revealed payload, a JSON file")
        parser.add_argument("--salt", required=True, help="file holding the salt in hex")

    def run(self, args: argparse.Namespace, out: Output) -> int:
        from modelcvd.policy.commitment import Commitment, CommitmentOpening, commitment_verify

        commitment = Commitment.parse(args.commitment)
        try:
            opening = CommitmentOpening(bytes.fromhex(read_text(args.salt, "salt").strip()))
            payload = json.loads(read_text(args.payload, "payload"))
        except ValueError as error:
            raise CliError(Exit.USAGE, str(error)) from None
        opens = commitment_verify(commitment, payload, opening)
        verdict = (
            "OK: the payload and salt open"
            if opens
            else "MISMATCH: the payload and salt do not open"
        )
        out.data({"opens": opens, "commitment": str(commitment)}, f"{verdict} {commitment}")
        return Exit.DONE if opens else Exit.FAILED


class CommitmentReveal(Command):
    group = COMMITMENT
    name = "reveal"
    help = "Write an advisory's committed payload and salt (coordinators; audited)."
    description = "Write payload.json and salt.hex for an advisory's commitment."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("advisory", help="the advisory's MCVD id")
        parser.add_argument("--user", required=True, help="the coordinator who reveals it")
        parser.add_argument("--reason", required=True, help="why, for the audit log")
        parser.add_argument("--out", required=True, help="directory to write the two files into")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.advisories.services import commitment_reveal

        payload, salt = commitment_reveal(
            actor=user_named(args.user), advisory_id=args.advisory, reason=args.reason
        )
        directory = Path(args.out)
        directory.mkdir(parents=True, exist_ok=True)
        files = [directory / "payload.json", directory / "salt.hex"]
        files[0].write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
        files[1].write_text(salt.hex() + "\n")
        for file in files:
            os.chmod(file, 0o600)
        out.data(
            {"advisory": args.advisory, "files": [str(f) for f in files]},
            f"wrote payload.json and salt.hex to {directory}",
        )


COMMANDS: list[type[Command]] = [Export, Import, CommitmentVerify, CommitmentReveal]
