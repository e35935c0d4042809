"""`modelcvd mirror`: keep a local copy of an instance's OSV-style dump, verified.

    modelcvd mirror --from URL --out DIR [--log URL] [--key-id ID] [--json]

URL is where the dump lies (`https://HOST/advisories/osv/`: modified_id.csv, all.zip,
<ID>.json). The first run fetches all.zip; a later one only the records whose `modified`
changed or that are new, and removes the records the dump no longer lists (interop/mirror.py).

Every record fetched is checked against the instance's transparency log before it is written:
the signed tree head (Ed25519, a key published at /.well-known/modelcvd/log-keys.json; pin one
with --key-id), the advisory revision's log entry (ref `<advisory id>@<revision>`, from the
record's `database_specific`), whose body carries the sha256 of the record's bytes
(`osv_sha256`), and the entry's inclusion proof in that tree head (RFC 9162). A record that
does not match ends the run with exit 1, naming it; nothing of it is written. The command is a
client of a remote server: it needs no settings or database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from modelcvd.cli.base import Command, Output
from modelcvd.cli.errors import CliError, Exit
from modelcvd.interop.mirror import MirrorError, mirror_sync

TIMEOUT = 60.0


class _Client:
    """GETs against one server, with the CLI's errors: a transport failure or a non-success
    answer is exit 1 naming the URL."""

    def __init__(self) -> None:
        # httpx only for this command; the rest of the CLI starts without it.
        import httpx

        self._httpx = httpx
        self._client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def get(self, url: str) -> bytes:
        try:
            response = self._client.get(url)
        except self._httpx.HTTPError as error:
            raise CliError(Exit.FAILED, f"{url}: {error}") from None
        if response.status_code != 200:
            raise CliError(Exit.FAILED, f"{url}: server answered {response.status_code}")
        return response.content

    def json(self, url: str) -> Any:
        try:
            return json.loads(self.get(url))
        except ValueError:
            raise CliError(Exit.FAILED, f"{url}: not JSON") from None


class LogVerifier:
    """Checks records against one signed tree head of the instance's transparency log."""

    def __init__(self, client: _Client, base: str, *, key_id: str = "") -> None:
        # The pure log modules (RFC 9162 proofs, tree head signatures); cryptography is heavy
        # to import, so only this command loads them.
        from modelcvd.transparency import merkle, treehead

        self._merkle = merkle
        self.client = client
        self.base = base.rstrip("/")
        head = client.json(f"{self.base}/api/v1/log/tree-head")
        published = client.json(f"{self.base}/.well-known/modelcvd/log-keys.json")
        signer = str(head.get("key_id", ""))
        if key_id and signer != key_id:
            raise MirrorError(f"the tree head is signed by {signer!r}, not the pinned {key_id!r}")
        found = [k for k in published.get("keys", []) if k.get("key_id") == signer]
        if not found:
            raise MirrorError(f"the tree head's key {signer!r} is not among the published keys")
        public_key = treehead.public_key_from_b64(str(found[0]["public_key"]))
        if not treehead.tree_head_signature_valid(head, public_key):
            raise MirrorError("the log's tree head signature does not verify")
        self.size = int(head["size"])
        self.root = bytes.fromhex(str(head["root_hash"]))

    def __call__(self, record: str, content: bytes, document: dict[str, Any]) -> None:
        specific = document.get("database_specific") or {}
        ref = f"{specific.get('modelcvd_id')}@{specific.get('revision')}"
        query = urlencode({"kind": "advisory_revision", "ref": ref})
        try:
            entry = self.client.json(f"{self.base}/api/v1/log/entry?{query}")["entry"]
        except CliError:
            raise MirrorError(f"no advisory revision {ref} in the log", record=record) from None
        body = entry.get("body") or {}
        digest = hashlib.sha256(content).hexdigest()
        if body.get("osv_sha256") != digest:
            raise MirrorError(
                f"sha256 {digest} differs from the log's {body.get('osv_sha256')!r} "
                f"(entry {entry.get('index')}, {ref})",
                record=record,
            )
        leaf = self._merkle.leaf_hash(self._merkle.canonical_bytes(body))
        index = int(entry["index"])
        if index >= self.size:
            raise MirrorError(
                f"log entry {index} ({ref}) is not yet in the signed tree head of size "
                f"{self.size}; run again later",
                record=record,
            )
        answer = self.client.json(
            f"{self.base}/api/v1/log/proof/inclusion?index={index}&size={self.size}"
        )
        proof = [bytes.fromhex(p) for p in answer.get("path", [])]
        if not self._merkle.verify_inclusion(leaf, index, self.size, proof, self.root):
            raise MirrorError(
                f"log entry {index} ({ref}) is not included in the signed tree head "
                f"of size {self.size}",
                record=record,
            )


def _instance(url: str) -> str:
    """The instance a dump URL belongs to: what precedes /advisories/osv."""
    parts = urlsplit(url)
    path = parts.path.split("/advisories/osv")[0]
    return f"{parts.scheme}://{parts.netloc}{path}"


class Mirror(Command):
    name = "mirror"
    help = "Sync a local copy of an instance's OSV dump, each record checked against its log."
    description = __doc__ or ""
    prints_data = True
    takes_long = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--from",
            dest="source",
            required=True,
            metavar="URL",
            help="where the dump lies, e.g. https://HOST/advisories/osv/",
        )
        parser.add_argument(
            "--out", type=Path, required=True, metavar="DIR", help="the mirror's directory"
        )
        parser.add_argument(
            "--log",
            metavar="URL",
            help="the instance whose transparency log to check (default: the dump's instance)",
        )
        parser.add_argument(
            "--key-id",
            default="",
            metavar="ID",
            help="accept only tree heads signed by this key id (ed25519:...)",
        )

    def run(self, args: argparse.Namespace, out: Output) -> int | None:
        source = args.source if args.source.endswith("/") else f"{args.source}/"
        if urlsplit(source).scheme not in ("http", "https"):
            raise CliError(Exit.USAGE, f"--from: not an http(s) URL: {args.source}")
        client = _Client()
        try:
            verifier = LogVerifier(client, args.log or _instance(source), key_id=args.key_id)
            result = mirror_sync(
                fetch=lambda name: client.get(urljoin(source, name)),
                out=args.out,
                verify=verifier,
            )
        except MirrorError as error:
            raise CliError(Exit.FAILED, str(error)) from None
        payload = {
            "listed": result.listed,
            "fetched": result.fetched,
            "removed": result.removed,
            "bulk": result.bulk,
            "log_size": verifier.size,
        }
        out.data(
            payload,
            f"{result.listed} records listed; fetched {len(result.fetched)}"
            f"{' (all.zip)' if result.bulk else ''}, removed {len(result.removed)}; "
            f"every fetched record is in the log (tree size {verifier.size})",
        )
        return None


COMMANDS = [Mirror]
