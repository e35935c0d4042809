"""`modelcvd log verify`: an independent monitor of an instance's transparency log.

It needs nothing but the server's URL and the published key: it speaks plain HTTP to the
public API (this is a client of a remote server, not the platform's own egress) and checks
everything with transparency.merkle and transparency.treehead, which import no Django.
`modelcvd log rotate-key` (on the server) starts a new signing key and keeps the old ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from modelcvd.cli.base import Command, Group, Output, read_text
from modelcvd.cli.errors import CliError, Exit

LOG = Group("log", "The transparency log: monitor it, rotate its signing key.")

PAGE = 1000


def _diverged(message: str, hint: str = "") -> CliError:
    return CliError(
        Exit.FAILED,
        message,
        hint or "the log is not the append-only history it claims: keep the state file as evidence",
    )


def _json_file(path: str, what: str) -> Any:
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as error:
        raise CliError(Exit.USAGE, f"{what} {path} is not valid JSON: {error}") from None


def _keys_from(document: Any) -> dict[str, str]:
    """key id -> base64 public key, from a log-keys.json, a list of keys or one key."""
    if isinstance(document, dict) and "keys" in document:
        document = document["keys"]
    if isinstance(document, dict):
        document = [document]
    try:
        return {str(k["key_id"]): str(k["public_key"]) for k in document}
    except (KeyError, TypeError):
        raise CliError(
            Exit.USAGE, "the key file holds no keys", "pass the server's log-keys.json"
        ) from None


class Client:
    """GETs against one server's public API; any failure is one CliError."""

    def __init__(self, server: str) -> None:
        import httpx

        self.base = server.rstrip("/")
        self.http = httpx.Client(timeout=30, follow_redirects=False)
        self.errors = (httpx.HTTPError, httpx.InvalidURL)

    def get(self, path: str, **params: Any) -> Any:
        url = self.base + path
        try:
            response = self.http.get(url, params=params)
        except self.errors as error:
            raise CliError(Exit.FAILED, f"cannot reach {url}: {error}") from None
        if response.status_code != 200:
            raise CliError(
                Exit.FAILED, f"{url} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            raise CliError(Exit.FAILED, f"{url} did not answer JSON") from None


def _public_key(keys: dict[str, str], key_id: str) -> Any:
    from modelcvd.transparency.treehead import public_key_from_b64

    if key_id not in keys:
        raise _diverged(
            f"the tree head is signed by {key_id}, which is not among the trusted keys "
            f"({', '.join(sorted(keys)) or 'none'})",
        )
    try:
        return public_key_from_b64(keys[key_id])
    except ValueError:
        raise CliError(Exit.USAGE, f"key {key_id} is not a valid Ed25519 public key") from None


def _check_head(head: Any, keys: dict[str, str], what: str) -> None:
    from modelcvd.transparency.treehead import tree_head_signature_valid

    if not isinstance(head, dict) or "key_id" not in head:
        raise _diverged(f"{what} is not a tree head")
    if not tree_head_signature_valid(head, _public_key(keys, str(head["key_id"]))):
        raise _diverged(f"{what} (size {head.get('size')}) has an invalid signature")


class LogVerify(Command):
    group = LOG
    name = "verify"
    help = "Monitor a server's transparency log, or check one advisory offline."
    description = (
        "Online (--server): fetch the latest signed tree head, check its signature with the "
        "published key, check that it extends the last head seen (--state), and check every new "
        "entry: its body hashes to its leaf, and the leaf is at its index in the signed tree. "
        "Saves the new head to --state only when all of that holds. Exits 1 naming exactly "
        "what diverged (a bad signature, a fork, a truncation, a rewritten or reordered entry).\n\n"
        "Offline (--advisory FILE --proof FILE --key FILE): check that the advisory document "
        "(public JSON) is the one the log committed to, and that the entry is in the signed "
        "tree head of the proof file (/api/v1/log/entry?kind=advisory_revision&ref=ID@REV)."
    )
    prints_data = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--server", help="the instance's base URL, e.g. https://cvd.example")
        parser.add_argument(
            "--state",
            help="JSON file holding the last verified tree head; read if present, then updated",
        )
        parser.add_argument(
            "--key",
            help="trusted keys: a saved /.well-known/modelcvd/log-keys.json (or one key of it); "
            "default: fetched from the server (trust on first use)",
        )
        parser.add_argument(
            "--key-id",
            help="accept only this key id (e.g. ed25519:0123456789abcdef) among the keys",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="check every entry again, not only those added since the head in --state",
        )
        parser.add_argument("--advisory", help="offline: an advisory's public JSON document")
        parser.add_argument(
            "--proof", help="offline: the entry with its inclusion proof and signed tree head"
        )
        parser.add_argument(
            "--tree-head",
            help="offline: a tree head obtained elsewhere (the feed, a witness) that the proof's "
            "head must equal",
        )

    def run(self, args: argparse.Namespace, out: Output) -> None:
        if args.advisory or args.proof:
            self._offline(args, out)
        elif args.server:
            self._online(args, out)
        else:
            raise CliError(
                Exit.USAGE, "nothing to verify", "pass --server URL, or --advisory and --proof"
            )

    def _keys(self, args: argparse.Namespace, client: Client | None) -> dict[str, str]:
        if args.key:
            keys = _keys_from(_json_file(args.key, "key file"))
        elif client is not None:
            keys = _keys_from(client.get("/.well-known/modelcvd/log-keys.json"))
        else:
            raise CliError(Exit.USAGE, "no key to verify with", "pass --key log-keys.json")
        if args.key_id:
            if args.key_id not in keys:
                raise _diverged(f"key {args.key_id} is not among the published keys")
            keys = {args.key_id: keys[args.key_id]}
        return keys

    def _online(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.transparency import merkle

        client = Client(args.server)
        keys = self._keys(args, client)
        head = client.get("/api/v1/log/tree-head")
        _check_head(head, keys, "the server's tree head")
        size, root = int(head["size"]), bytes.fromhex(str(head["root_hash"]))
        state_path = Path(args.state) if args.state else None
        seen: dict[str, Any] | None = None
        if state_path is not None and state_path.exists():
            seen = _json_file(str(state_path), "state file")
            _check_head(seen, keys, "the tree head in the state file")
        start = 0
        if seen is not None:
            old_size, old_root = int(seen["size"]), bytes.fromhex(str(seen["root_hash"]))
            if seen.get("log") != head["log"]:
                raise _diverged(f"the state file is for log {seen.get('log')}, not {head['log']}")
            if size < old_size:
                raise _diverged(
                    f"truncated log: the server's signed head has {size} entries, "
                    f"but it signed {old_size} before (root {seen['root_hash']})"
                )
            if size == old_size and root != old_root:
                raise _diverged(
                    f"forked log: two signed heads of size {size} with different roots: "
                    f"{seen['root_hash']} (seen {seen['timestamp']}) and {head['root_hash']} "
                    f"(now, {head['timestamp']})"
                )
            if size > old_size:
                proof = client.get("/api/v1/log/proof/consistency", first=old_size, second=size)
                path = [bytes.fromhex(p) for p in proof["path"]]
                if not merkle.verify_consistency(old_size, size, old_root, root, path):
                    raise _diverged(
                        f"inconsistent log: the head of size {size} (root {head['root_hash']}) "
                        f"does not extend the head of size {old_size} seen before "
                        f"(root {seen['root_hash']}): entries before {old_size} were rewritten"
                    )
            start = 0 if args.all else old_size
        checked = self._entries(client, start=start, size=size, root=root, out=out)
        if state_path is not None:
            state_path.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
        out.data(
            {
                "ok": True,
                "log": head["log"],
                "size": size,
                "root_hash": head["root_hash"],
                "new_entries": checked,
                "key_id": head["key_id"],
            },
            f"log consistent: {size} entries, root {head['root_hash']}, "
            f"{checked} new entries checked",
        )

    def _entries(self, client: Client, *, start: int, size: int, root: bytes, out: Output) -> int:
        """Check entries [start, size): each body hashes to its leaf, each leaf is in the tree
        at its index. From an empty state the tree is rebuilt whole; after that, each new
        entry gets an inclusion proof."""
        from modelcvd.transparency import merkle

        leaves: list[bytes] = []
        seen: list[dict[str, Any]] = []
        index = start
        with out.progress("entries", total=size - start, unit="entries") as bar:
            while index < size:
                page = client.get("/api/v1/log/entries", start=index, end=min(index + PAGE, size))
                if not page["entries"]:
                    raise _diverged(f"the server serves no entry {index}, but signed {size}")
                for entry in page["entries"]:
                    if entry["index"] != index:
                        raise _diverged(
                            f"reordered log: asked for entry {index}, got entry {entry['index']}"
                        )
                    leaf = merkle.leaf_hash(merkle.canonical_bytes(entry["body"]))
                    if leaf.hex() != entry["leaf_hash"]:
                        raise _diverged(
                            f"tampered entry {index} ({entry['kind']} {entry['ref']}): its body "
                            f"hashes to leaf {leaf.hex()}, the server says {entry['leaf_hash']}"
                        )
                    if start > 0:
                        self._included(client, index, size, leaf, root, entry)
                    leaves.append(leaf)
                    seen.append({"kind": entry["kind"], "ref": entry["ref"]})
                    index += 1
                    bar.advance(1)
        if start == 0 and merkle.root_from_leaves(leaves) != root:
            # Find the first entry that is not where the signed tree says it is.
            for i, leaf in enumerate(leaves):
                self._included(client, i, size, leaf, root, seen[i])
            raise _diverged(f"the entries do not hash to the signed root {root.hex()}")
        return size - start

    def _included(
        self, client: Client, index: int, size: int, leaf: bytes, root: bytes, entry: Any
    ) -> None:
        from modelcvd.transparency import merkle

        proof = client.get("/api/v1/log/proof/inclusion", index=index, size=size)
        path = [bytes.fromhex(p) for p in proof["path"]]
        if not merkle.verify_inclusion(leaf, index, size, path, root):
            raise _diverged(
                f"entry {index} ({entry['kind']} {entry['ref']}) is not at index {index} of the "
                f"signed tree of size {size}: it was rewritten or moved"
            )

    def _offline(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.transparency import merkle

        if not (args.advisory and args.proof):
            raise CliError(Exit.USAGE, "offline verification needs --advisory and --proof")
        keys = self._keys(args, None)
        document = _json_file(args.advisory, "advisory")
        bundle = _json_file(args.proof, "proof file")
        entry, head, inclusion = (bundle.get(k) for k in ("entry", "tree_head", "inclusion"))
        if not isinstance(entry, dict) or head is None or inclusion is None:
            raise CliError(
                Exit.USAGE,
                f"{args.proof} holds no entry with an inclusion proof",
                "fetch it again once a tree head covering the entry is signed",
            )
        if args.tree_head:
            witnessed = _json_file(args.tree_head, "tree head")
            _check_head(witnessed, keys, "the tree head given")
            if (witnessed["size"], witnessed["root_hash"]) != (head["size"], head["root_hash"]):
                raise _diverged(
                    f"the proof is for the head of size {head['size']} (root {head['root_hash']}), "
                    f"the head given has size {witnessed['size']} (root {witnessed['root_hash']})"
                )
        _check_head(head, keys, "the proof file's tree head")
        body = entry["body"]
        digest = hashlib.sha256(merkle.canonical_bytes(document)).hexdigest()
        ref = f"{document.get('id')}@{document.get('revision')}"
        if entry.get("ref") != ref or body.get("advisory") != document.get("id"):
            raise _diverged(f"the log entry is about {entry.get('ref')}, the advisory is {ref}")
        if body.get("document_sha256") != digest:
            raise _diverged(
                f"advisory {ref} differs from the one the log committed to: it hashes to "
                f"{digest}, the log holds {body.get('document_sha256')}"
            )
        leaf = merkle.leaf_hash(merkle.canonical_bytes(body))
        path = [bytes.fromhex(p) for p in inclusion["path"]]
        size, root = int(head["size"]), bytes.fromhex(str(head["root_hash"]))
        if int(inclusion["size"]) != size or not merkle.verify_inclusion(
            leaf, int(entry["index"]), size, path, root
        ):
            raise _diverged(
                f"entry {entry['index']} ({ref}) is not in the signed tree head of size {size}"
            )
        out.data(
            {
                "ok": True,
                "advisory": ref,
                "index": entry["index"],
                "size": size,
                "root_hash": head["root_hash"],
                "key_id": head["key_id"],
            },
            f"advisory {ref} is entry {entry['index']} of the log, in the signed head of size "
            f"{size} (root {head['root_hash']}, key {head['key_id']})",
        )


class LogRotateKey(Command):
    group = LOG
    name = "rotate-key"
    help = "Start a new tree-head signing key; old public keys stay published."
    description = (
        "Retire the active Ed25519 signing key (its public part stays in log-keys.json, so "
        "heads it signed still verify) and make a new one active. Signs a tree head with it."
    )
    prints_data = True
    uses_database = True

    def run(self, args: argparse.Namespace, out: Output) -> None:
        from modelcvd.transparency.services import log_key_rotate

        key_id = log_key_rotate()
        out.data({"key_id": key_id}, f"new signing key {key_id}; the old keys stay published")


COMMANDS: list[type[Command]] = [LogVerify, LogRotateKey]
