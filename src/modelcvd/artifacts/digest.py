"""Identity of a local model directory: a deterministic manifest of its files, a combined
digest and a package URL. Pure Python, no Django.

The manifest lists the files that decide what the model computes: every `*.safetensors` shard
and the configuration and tokenizer files. Each is hashed with sha256, streamed in 1 MiB
chunks (memory stays constant whatever the shard size).

Compatibility with the OpenSSF model-signing manifest (`model-signing` 1.x, file
serialization, sha256): each file's digest is the same (sha256 of its bytes, path relative to
the model root, POSIX separators), and the combined digest is computed the way model-signing
computes the subject digest of its signature: sha256 over the concatenated raw digests in path
order. Hashing the same files with model-signing therefore gives the same combined digest
(tests/artifacts/test_digest.py checks both). What differs: model-signing's default hashes
every file in the directory (README, images...), this manifest only the files above, so pass
the same file list (`files_to_hash`) to compare; and the shard serialization of model-signing
(per byte range) is not produced here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHUNK = 1 << 20
CONFIG_FILES = frozenset(
    {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "merges.txt",
        "tokenizer.model",
        "chat_template.jinja",
        "chat_template.json",
        "preprocessor_config.json",
        "model.safetensors.index.json",
        "adapter_config.json",
    }
)
PURL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class DigestError(ValueError):
    """A directory that cannot be digested."""


@dataclass(frozen=True)
class FileDigest:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelManifest:
    """The files of a model directory with their sha256, and the combined digest."""

    files: tuple[FileDigest, ...]
    digest: str
    weights_digest: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": "sha256",
            "digest": self.digest,
            "weights_digest": self.weights_digest,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
        }

    def model_signing_predicate(self) -> dict[str, Any]:
        """The `serialization` and `resources` of a model-signing v1.0 predicate for these
        files, and the subject digest it would sign."""
        return {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
            "resources": [
                {"name": f.path, "algorithm": "sha256", "digest": f.sha256} for f in self.files
            ],
            "subject_digest": {"sha256": self.digest},
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_files(model_dir: Path) -> list[Path]:
    """The files the manifest covers, sorted by relative POSIX path. Symbolic links are
    followed (a Hugging Face cache snapshot links its files into ../../blobs)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise DigestError(f"model directory not found: {model_dir}")
    chosen = [
        p
        for p in model_dir.iterdir()
        if p.is_file() and (p.suffix == ".safetensors" or p.name in CONFIG_FILES)
    ]
    if not any(p.suffix == ".safetensors" for p in chosen):
        raise DigestError(f"{model_dir} has no .safetensors files")
    return sorted(chosen, key=lambda p: p.relative_to(model_dir).as_posix())


def combined_digest(digests: list[tuple[str, str]]) -> str:
    """sha256 over the raw digests in path order (model-signing's subject digest)."""
    hasher = hashlib.sha256()
    for _, hex_digest in sorted(digests):
        hasher.update(bytes.fromhex(hex_digest))
    return hasher.hexdigest()


def model_manifest(model_dir: Path) -> ModelManifest:
    """Hash every manifest file of `model_dir`, one chunk at a time."""
    model_dir = Path(model_dir)
    files = tuple(
        FileDigest(p.relative_to(model_dir).as_posix(), file_sha256(p), p.stat().st_size)
        for p in manifest_files(model_dir)
    )
    digest = combined_digest([(f.path, f.sha256) for f in files])
    shards = [f for f in files if f.path.endswith(".safetensors")]
    # The weights digest the verification engine measures (identity.weights_digest): the shard's
    # own sha256 when there is one, else sha256 of a sha256sum-style listing of the shards.
    if len(shards) == 1:
        weights = shards[0].sha256
    else:
        listing = "".join(f"{f.sha256}  {Path(f.path).name}\n" for f in shards)
        weights = hashlib.sha256(listing.encode()).hexdigest()
    return ModelManifest(files=files, digest=digest, weights_digest=weights)


def huggingface_purl(repo_id: str, revision: str = "") -> str:
    """`pkg:huggingface/ORG/NAME@REVISION` (purl spec: the namespace is the org; the version is
    the commit, lower-cased; names are kept as the hub spells them)."""
    parts = repo_id.strip().strip("/").split("/")
    if len(parts) != 2 or not all(PURL_NAME.match(p) for p in parts):
        raise DigestError(f"not a Hugging Face repository id (ORG/NAME): {repo_id!r}")
    purl = f"pkg:huggingface/{quote(parts[0], safe='.-_')}/{quote(parts[1], safe='.-_')}"
    if revision:
        purl += f"@{quote(revision.strip().lower(), safe='.-_')}"
    return purl
