"""`modelcvd createadmin`, `modelcvd invite create` and `modelcvd token create|list|revoke`:
accounts, invitations and API tokens.

The token commands are the operator's: they see and revoke anyone's tokens (a person manages
their own on the token page, /account/tokens/). A token is named by its prefix, the part that
is shown everywhere; the secret itself is never stored, so it cannot be listed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from modelcvd.cli.base import Command, Group, Output, user_named
from modelcvd.cli.errors import CliError, Exit

TOKEN = Group("token", "Manage API tokens.")
INVITE = Group("invite", "Invite people to sign up (MODELCVD_SIGNUP=invite).")

# Kept here, not imported: the parser is built before Django is set up.
SCOPES = ["read", "submit", "triage", "admin"]


class CreateAdmin(Command):
    name = "createadmin"
    help = "Create an administrator (password from MODELCVD_ADMIN_PASSWORD or a prompt)."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username", help="the new administrator's username")
        parser.add_argument("--email", default="", help="their e-mail address")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        import getpass

        from django.db import transaction

        from modelcvd.accounts.models import Role
        from modelcvd.accounts.selectors import user_by_username
        from modelcvd.accounts.services import membership_grant, user_create

        password = os.environ.get("MODELCVD_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        if len(password) < 10:
            raise CliError(Exit.USAGE, "the password must have at least 10 characters")
        if user_by_username(args.username):
            raise CliError(
                Exit.REFUSED, f"user {args.username!r} exists already", "choose another username"
            )
        with transaction.atomic():
            user = user_create(username=args.username, password=password, email=args.email)
            membership_grant(user=user, role=Role.ADMIN, organisation=None, actor=None)
        out.data(
            {"username": args.username, "role": "admin"},
            f"administrator {args.username} created",
        )


class InviteCreate(Command):
    group = INVITE
    name = "create"
    help = "Print an invitation link for an e-mail address."
    description = (
        "Print a sign-up link for one e-mail address, valid for 14 days, used up once an "
        "account with that address exists. Send it to the person yourself."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="the invited person's e-mail address")
        parser.add_argument(
            "--role",
            default="researcher",
            choices=["researcher", "defender"],
            help="the role the account gets (default: researcher)",
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.accounts.services import invitation_create

        link = invitation_create(actor=None, email=args.email, role=args.role)
        out.data({"email": args.email, "role": args.role, "link": link}, link)


class TokenCreate(Command):
    group = TOKEN
    name = "create"
    help = "Print a new API token for USERNAME."
    description = "Print a new API token; it is shown once and never stored."
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username", help="the account the token acts as")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=SCOPES,
            help="what the token may do; repeat for several scopes",
        )
        parser.add_argument("--name", default="", help="a label to recognise the token by")
        parser.add_argument(
            "--days", type=int, default=90, help="expiry in days; 0 for none (default: 90)"
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from datetime import timedelta

        from modelcvd.accounts.services import token_create

        user = user_named(args.username)
        token, secret = token_create(
            user=user,
            scopes=args.scope,
            name=args.name,
            expires_in=timedelta(days=args.days) if args.days else None,
        )
        out.data(
            {
                "token": secret,
                "username": user.username,
                "scopes": token.scopes,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
            secret,
        )


class TokenList(Command):
    group = TOKEN
    name = "list"
    help = "List API tokens: prefix, owner, scopes, expiry, last use, state."
    description = (
        "List API tokens, newest first, with their state: active, expired or revoked. "
        "The secrets are not stored and cannot be shown."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--user", help="only this account's tokens (default: everyone's)")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.utils import timezone

        from modelcvd.accounts.selectors import tokens_for_operator

        if args.user:
            user_named(args.user)  # an unknown account is "not found", not an empty list
        now = timezone.now()
        rows = [_token_row(t, now) for t in tokens_for_operator(username=args.user)]
        lines = [
            f"{r['prefix']:<12} {r['user']:<16} {','.join(r['scopes']):<24} "
            f"{r['state']:<8} expires {r['expires_at'] or 'never'}  "
            f"last used {r['last_used_at'] or 'never'}" + (f"  ({r['name']})" if r["name"] else "")
            for r in rows
        ]
        out.data(rows, "\n".join(lines) if lines else "no tokens")


class TokenRevoke(Command):
    group = TOKEN
    name = "revoke"
    help = "Revoke the API token with PREFIX: it never works again."
    description = (
        "Revoke the API token whose prefix (as `token list` shows it) is PREFIX; audited. "
        "Revoking a revoked token changes nothing."
    )
    prints_data = True
    uses_database = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("prefix", help="the token's prefix, e.g. mcvd_AbC12")
        parser.add_argument("--user", help="the token's owner, when two tokens share a prefix")

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from django.utils import timezone

        from modelcvd.accounts.selectors import tokens_for_operator
        from modelcvd.accounts.services import token_revoke

        prefix = args.prefix.rstrip("…").strip()
        if args.user:
            user_named(args.user)
        found = list(tokens_for_operator(username=args.user).filter(prefix=prefix))
        if not found:
            raise CliError(
                Exit.NOT_FOUND,
                f"no token with prefix {prefix!r}" + (f" of {args.user!r}" if args.user else ""),
                "see `modelcvd token list`",
            )
        if len(found) > 1:
            owners = sorted({t.user.get_username() for t in found})
            raise CliError(
                Exit.USAGE,
                f"{len(found)} tokens have prefix {prefix!r} (owners: {', '.join(owners)})",
                "name the owner with --user",
            )
        token = found[0]
        already = token.revoked_at is not None
        token = token_revoke(token=token, actor=None)
        row = _token_row(token, timezone.now())
        text = (
            f"token {token.prefix} of {row['user']} was revoked already, at {row['revoked_at']}"
            if already
            else f"token {token.prefix} of {row['user']} revoked"
        )
        out.data(row, text)


def _token_row(token: Any, now: Any) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value else None

    return {
        "prefix": token.prefix,
        "user": token.user.get_username(),
        "name": token.name,
        "scopes": list(token.scopes),
        "state": token.state_at(now),
        "created_at": when(token.created_at),
        "expires_at": when(token.expires_at),
        "last_used_at": when(token.last_used_at),
        "revoked_at": when(token.revoked_at),
    }


COMMANDS: list[type[Command]] = [CreateAdmin, InviteCreate, TokenCreate, TokenList, TokenRevoke]
