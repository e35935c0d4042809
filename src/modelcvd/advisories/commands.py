"""`modelcvd export`, `modelcvd import` and `modelcvd commitment` (verify, reveal).

export: one file per published advisory, at the public level (or --level defender), each
  format built through the same redaction as every other channel.
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
import sys
from pathlib import Path
from typing import Any

# Kept here, not imported: the parser is built before Django is set up.
FORMATS = ("cve5", "osv", "csaf", "avid")
SOURCES = ("garak", "jailbreakbench", "avid", "cve")


class _Failure(Exception):
    pass


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django

    django.setup()


def _user(username: str) -> Any:
    from modelcvd.accounts.selectors import user_by_username

    user = user_by_username(username)
    if user is None:
        raise _Failure(f"no user {username!r}")
    return user


def cmd_export(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.advisories.models import Advisory
    from modelcvd.advisories.render import FILE_SUFFIX, export_view, render_at
    from modelcvd.advisories.selectors import PUBLIC_STATES
    from modelcvd.interop.jsonio import document_bytes
    from modelcvd.policy.disclosure import Channel, Level

    level = Level.parse(args.level)
    if level > Channel.EXPORT.ceiling:
        raise _Failure("exports carry at most the defender level")
    rows = Advisory.objects.filter(state__in=PUBLIC_STATES).order_by("advisory_id")
    if args.advisory:
        rows = rows.filter(advisory_id__in=args.advisory)
        missing = set(args.advisory) - set(rows.values_list("advisory_id", flat=True))
        if missing:
            raise _Failure(f"no published advisory {', '.join(sorted(missing))}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for advisory in rows.iterator(chunk_size=500):
        document = export_view(render_at(advisory, level), args.format)
        path = out / f"{advisory.advisory_id}.{FILE_SUFFIX[args.format]}"
        path.write_bytes(document_bytes(document))
        written += 1
    print(f"wrote {written} {args.format} file(s) at the {level.label} level to {out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.advisories.imports import cves_import, reports_import
    from modelcvd.core.errors import DomainError

    actor = _user(args.user)
    paths = [Path(p) for p in args.files]
    try:
        if args.source == "cve":
            outcome = cves_import(paths=paths, actor=actor)
        else:
            if not args.program:
                raise _Failure("--program is required for report imports")
            outcome = reports_import(
                source=args.source, paths=paths, program=args.program, actor=actor
            )
    except DomainError as error:
        raise _Failure(error.message) from None
    for where, what in outcome.imported:
        print(f"imported  {where}: {what}")
    for where, why in outcome.skipped:
        print(f"skipped   {where}: {why}")
    for where, note in outcome.notes:
        print(f"note      {where}: {note}")
    print(f"{len(outcome.imported)} imported, {len(outcome.skipped)} skipped")
    return 0


def cmd_commitment_verify(args: argparse.Namespace) -> int:
    from modelcvd.policy.commitment import (
        Commitment,
        CommitmentError,
        CommitmentOpening,
        commitment_verify,
    )

    try:
        commitment = Commitment.parse(args.commitment)
        opening = CommitmentOpening(bytes.fromhex(Path(args.salt).read_text().strip()))
        payload = json.loads(Path(args.payload).read_text("utf-8"))
    except (CommitmentError, ValueError) as error:
        raise _Failure(str(error)) from None
    if commitment_verify(commitment, payload, opening):
        print(f"OK: the payload and salt open {commitment}")
        return 0
    print(f"MISMATCH: the payload and salt do not open {commitment}")
    return 1


def cmd_commitment_reveal(args: argparse.Namespace) -> int:
    _django()
    from modelcvd.advisories.services import commitment_reveal

    payload, salt = commitment_reveal(
        actor=_user(args.user), advisory_id=args.advisory, reason=args.reason
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "payload.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
    (out / "salt.hex").write_text(salt.hex() + "\n")
    os.chmod(out / "payload.json", 0o600)
    os.chmod(out / "salt.hex", 0o600)
    print(f"wrote payload.json and salt.hex to {out}")
    return 0


def _guard(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = handler(args)
        except _Failure as error:
            print(f"modelcvd {args.command}: {error}", file=sys.stderr)
            return 2
        return code

    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="Write published advisories as CVE 5.1, OSV, CSAF 2.0 VEX or AVID, one file each.",
        description="Write published advisories, one file per advisory.",
    )
    p.add_argument("--format", required=True, choices=list(FORMATS))
    p.add_argument("--out", required=True, help="directory to write into")
    p.add_argument("--advisory", action="append", help="MCVD id (repeatable; default: all)")
    p.add_argument("--level", default="public", choices=["public", "defender"])
    p.set_defaults(func=_guard(cmd_export))

    p = sub.add_parser(
        "import",
        help="Import garak, JailbreakBench or AVID files as draft reports, or CVE records.",
        description="Import files; prints what was imported and what was skipped and why.",
    )
    p.add_argument("source", choices=list(SOURCES))
    p.add_argument("files", nargs="+")
    p.add_argument("--program", help="program slug the draft reports are filed under")
    p.add_argument("--user", required=True, help="the account the imports are filed by")
    p.set_defaults(func=_guard(cmd_import))

    commitment = sub.add_parser("commitment", help="Payload commitments: verify or reveal.")
    commitment_sub = commitment.add_subparsers(
        dest="commitment_command", required=True, metavar="ACTION"
    )
    p = commitment_sub.add_parser(
        "verify",
        help="Check a revealed payload and salt against a commitment.",
        description="Exit 0 when PAYLOAD (JSON) and SALT (hex file) open COMMITMENT, else 1.",
    )
    p.add_argument("--commitment", required=True, help="e.g. sha256-salted-v1:<64 hex>")
    p.add_argument("--payload", required=True, help="the revealed payload, a JSON file")
    p.add_argument("--salt", required=True, help="file holding the salt in hex")
    p.set_defaults(func=_guard(cmd_commitment_verify))
    p = commitment_sub.add_parser(
        "reveal",
        help="Write an advisory's committed payload and salt (coordinators; audited).",
        description="Write payload.json and salt.hex for an advisory's commitment.",
    )
    p.add_argument("advisory")
    p.add_argument("--user", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_guard(cmd_commitment_reveal))
