"""The instance's OpenPGP key: it signs what the CSAF provider distributes (CSAF 2.0 section
7.1.19, 7.1.20).

GnuPG (`/usr/bin/gpg`, driven through python-gnupg) keeps the key in its own home directory,
`settings.OPENPGP_HOME` (default `DATA_DIR/keys/openpgp`, mode 0700; the secret key is a 0600
file gpg writes under `private-keys-v1.d/`), never in the database. The key is an Ed25519
signing key without expiry, created on first use; a lock file keeps two processes from each
creating one.

Signatures are detached and ASCII-armoured, and each carries its own creation time, so signing
the same bytes twice gives two different (both valid) signatures. `signature_for` therefore
signs a document once and keeps the signature in a file cache keyed by the document's SHA-256
and the key's fingerprint
(`settings.CSAF_SIGNATURE_DIR`): every later request for the same bytes gets the same `.asc`,
which keeps responses stable for HTTP caches and mirrors.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gnupg
from django.conf import settings

GPG_BINARY = "gpg"


class OpenPgpError(RuntimeError):
    """GnuPG refused or failed (no gpg, an unreadable home, a failed signature)."""


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str  # 40 upper-case hex digits
    armored: str  # the ASCII-armoured public key block


def _home() -> Path:
    home = Path(settings.OPENPGP_HOME)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)  # gpg warns about (and some versions refuse) a looser home
    return home


def _gpg(home: Path) -> gnupg.GPG:
    try:
        gpg = gnupg.GPG(gpgbinary=GPG_BINARY, gnupghome=str(home))
    except (OSError, ValueError) as error:
        raise OpenPgpError(f"cannot run gpg: {error}") from error
    gpg.encoding = "utf-8"
    return gpg


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    with open(home / ".modelcvd.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _secret_fingerprint(gpg: gnupg.GPG) -> str | None:
    keys = gpg.list_keys(secret=True)
    return str(keys[0]["fingerprint"]) if keys else None


def _ensure_key() -> tuple[gnupg.GPG, str]:
    """The gpg handle and the fingerprint of the instance key, created when there is none."""
    home = _home()
    gpg = _gpg(home)
    fingerprint = _secret_fingerprint(gpg)
    if fingerprint:
        return gpg, fingerprint
    with _locked(home):
        fingerprint = _secret_fingerprint(gpg)
        if fingerprint:
            return gpg, fingerprint
        spec = gpg.gen_key_input(
            key_type="EDDSA",
            key_curve="ed25519",
            key_usage="sign",
            name_real=f"{settings.PUBLISHER_NAME} CSAF signing key",
            name_comment=settings.BASE_URL,
            expire_date=0,
            no_protection=True,
        )
        created = gpg.gen_key(spec)
        if not created.fingerprint:
            raise OpenPgpError(f"gpg could not create the instance key: {created.stderr[-500:]}")
        return gpg, str(created.fingerprint)


# The public key per GnuPG home, once read: it never changes while the home exists, and
# reading it costs two gpg processes.
_PUBLIC: dict[str, PublicKey] = {}


def openpgp_public_key() -> PublicKey:
    """The instance's public key (created on first use)."""
    home = str(Path(settings.OPENPGP_HOME).resolve())
    known = _PUBLIC.get(home)
    if known is not None and Path(home).is_dir():
        return known
    gpg, fingerprint = _ensure_key()
    armored = gpg.export_keys(fingerprint, armor=True)
    if not armored:
        raise OpenPgpError("gpg exported no public key")
    _PUBLIC[home] = PublicKey(fingerprint=fingerprint.upper(), armored=str(armored))
    return _PUBLIC[home]


def openpgp_sign(data: bytes) -> str:
    """A fresh detached, ASCII-armoured signature of `data` by the instance key."""
    gpg, fingerprint = _ensure_key()
    signed = gpg.sign(data, keyid=fingerprint, detach=True, clearsign=False, binary=False)
    if not signed.data or signed.status != "signature created":
        raise OpenPgpError(f"gpg could not sign: {signed.stderr[-500:]}")
    return str(signed)


def signature_for(data: bytes) -> str:
    """The instance's detached signature of `data`: made once, then read from the cache."""
    digest = hashlib.sha256(data).hexdigest()
    fingerprint = openpgp_public_key().fingerprint
    # Keyed by the key too: a new instance key never serves an old key's signature.
    path = Path(settings.CSAF_SIGNATURE_DIR) / fingerprint / digest[:2] / f"{digest}.asc"
    if path.is_file():
        return path.read_text("ascii")
    signature = openpgp_sign(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(signature, "ascii")
    os.replace(partial, path)  # two processes racing both wrote a valid signature; one stays
    return path.read_text("ascii")
