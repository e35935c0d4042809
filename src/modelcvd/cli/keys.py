"""`modelcvd keys rotate`, `modelcvd keys retire` and `modelcvd keys reseal`: key-encryption
keys, and sealed values in the old purpose-only form."""

from __future__ import annotations

import argparse

from modelcvd.cli.base import Command, Group, Output
from modelcvd.cli.errors import CliError, Exit

KEYS = Group("keys", "Key-encryption key commands.")


class KeysRotate(Command):
    group = KEYS
    name = "rotate"
    help = "Re-wrap every data key under a new KEK (resumable)."
    description = "Re-wrap every data key under a new KEK; rerun to resume."
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="data keys re-wrapped per transaction (default: %(default)s)",
        )
        parser.add_argument(
            "--new-key", action="store_true", help="start a new rotation even if one is unfinished"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.keys import keys_rotate

        with out.progress("keys rotate"):
            result = keys_rotate(batch_size=args.batch_size, resume=not args.new_key)
        out.data(
            {
                "active": result.active,
                "rewrapped": result.rewrapped,
                "remaining": result.remaining,
                "resealed": result.resealed,
            },
            f"active key {result.active}: {result.rewrapped} data keys re-wrapped, "
            f"{result.remaining} left"
            + (f"; {result.resealed} old-form values re-sealed" if result.resealed else ""),
        )


class KeysRetire(Command):
    group = KEYS
    name = "retire"
    help = "Drop an old KEK once nothing is wrapped by it."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "kek_id", help="the old key's id (each `keys rotate` prints the new active one)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from modelcvd.core.sealing import keyring_retire

        try:
            ring = keyring_retire(args.kek_id)
        except ImproperlyConfigured as exc:
            # The keyring refuses by rule: the active key, or one still in use.
            raise CliError(Exit.REFUSED, str(exc)) from None
        out.data({"retired": args.kek_id, "active": ring.active}, f"{args.kek_id} retired")


class KeysReseal(Command):
    group = KEYS
    name = "reseal"
    help = "Bind values sealed in the old purpose-only form to the rows that hold them."
    description = (
        "Re-seal every value still sealed in the old purpose-only form (before issue 15) for "
        "the row that holds it, so it opens there and nowhere else; until then it does not "
        "open at all. Resumable: rerun to finish. A restore and a rotation do this too. Exits "
        "1 when values are left: held by no row or by several, or not opening in the old form."
    )
    prints_data = True
    takes_long = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="values re-sealed per transaction (default: %(default)s)",
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.core.services import keys_reseal

        with out.progress("keys reseal"):
            result = keys_reseal(batch_size=args.batch_size)
        out.data(
            {"resealed": result.resealed, "left": result.left},
            f"{result.resealed} values re-sealed to their rows, {result.left} left as they are",
        )
        if result.left:
            raise CliError(
                Exit.FAILED,
                f"{result.left} old-form values left: held by no row or by several, or not "
                "opening in the old form (they never open; see the log)",
            )


COMMANDS: list[type[Command]] = [KeysRotate, KeysRetire, KeysReseal]
