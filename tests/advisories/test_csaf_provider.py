"""The CSAF 2.0 trusted provider at /.well-known/csaf/ (docs/csaf-provider.md): provider
metadata, the TLP:WHITE ROLIE feed, index.txt, changes.csv, each public advisory under
<year>/<file name>.json with .sha256, .sha512 and a detached OpenPGP signature that stock gpg
verifies with nothing but the published key; nothing above the public level is distributed.

(The `csaf` package's checks of the same tree are in tests/interop/test_real_consumers.py.)
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.advisories.models import Advisory
from modelcvd.interop import csaf_provider as layout
from tests.advisories.helpers import MARKERS, make_advisory
from tests.conftest import skip_unless_ci
from tests.factories import World
from tests.interop.samples import csaf_validator, errors

ROOT = "/.well-known/csaf"
DEFENDER_MARKERS = ("Platypus", "Echidna", "Pretend you are a locksmith")


def gpg_home() -> Path:
    # A short path: gpg-agent's socket lives in the home when /run/user/<uid> does not exist,
    # and a Unix socket path is limited to about 100 bytes.
    return Path(tempfile.mkdtemp(prefix="pgp-", dir="/tmp"))


def kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def instance_key_home() -> Iterator[Path]:
    if shutil.which("gpg") is None:
        skip_unless_ci("gpg is not on PATH (GnuPG signs the CSAF provider's documents)")
    home = gpg_home()
    yield home
    kill_agent(home)


@pytest.fixture
def provider(settings: Any, instance_key_home: Path, tmp_path: Path) -> None:
    settings.OPENPGP_HOME = instance_key_home
    settings.CSAF_SIGNATURE_DIR = tmp_path / "signatures"
    settings.BASE_URL = "https://cvd.example.org"


def gpg_verify(key: bytes, signature: bytes, data: bytes) -> subprocess.CompletedProcess[str]:
    """Stock gpg in a fresh home holding only `key`: the check any consumer can make."""
    home = gpg_home()
    try:
        work = home / "files"
        work.mkdir()
        (work / "key.asc").write_bytes(key)
        (work / "doc.json").write_bytes(data)
        (work / "doc.json.asc").write_bytes(signature)
        gpg = ["gpg", "--homedir", str(home), "--batch", "--no-tty"]
        subprocess.run([*gpg, "--import", str(work / "key.asc")], check=True, capture_output=True)
        return subprocess.run(
            [
                *gpg,
                "--status-fd",
                "1",
                "--verify",
                str(work / "doc.json.asc"),
                str(work / "doc.json"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        kill_agent(home)


def get(client: Client, path: str, status: int = 200) -> Any:
    response = client.get(f"{ROOT}/{path}")
    assert response.status_code == status, (path, response.status_code, response.content[:500])
    return response


@pytest.mark.django_db
def test_provider_distributes_public_advisories_signed(world: World, provider: None) -> None:
    published = make_advisory(world)
    draft = make_advisory(world, publish=False, title="Unpublished draft")
    client = Client()

    metadata = get(client, "provider-metadata.json").json()
    assert metadata["role"] == "csaf_trusted_provider"
    assert metadata["metadata_version"] == "2.0"
    assert metadata["canonical_url"] == f"https://cvd.example.org{ROOT}/provider-metadata.json"
    assert metadata["publisher"] == {
        "category": "coordinator",
        "name": "modelcvd",
        "namespace": "https://cvd.example.org",
    }
    (key_ref,) = metadata["public_openpgp_keys"]
    fingerprint = key_ref["fingerprint"]
    assert re.fullmatch(r"[0-9A-F]{40}", fingerprint)
    assert key_ref["url"] == f"https://cvd.example.org{ROOT}/openpgp/{fingerprint}.asc"
    key = get(client, f"openpgp/{fingerprint}.asc")
    assert key["Content-Type"] == "application/pgp-keys"
    assert key.content.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    get(client, f"openpgp/{'0' * 40}.asc", 404)
    (distribution,) = metadata["distributions"]
    (feed_ref,) = distribution["rolie"]["feeds"]
    assert feed_ref["tlp_label"] == "WHITE"  # the only label: nothing above public ships
    assert feed_ref["url"] == f"https://cvd.example.org{ROOT}/white/csaf-feed-tlp-white.json"

    feed = get(client, "white/csaf-feed-tlp-white.json").json()["feed"]
    assert feed["category"] == [layout.ROLIE_CATEGORY]
    (entry,) = feed["entry"]  # the draft is not distributed
    assert entry["id"] == published.advisory_id
    year = published.published_at.astimezone(UTC).year if published.published_at else 0
    name = f"{published.advisory_id.lower()}.json"
    url = f"https://cvd.example.org{ROOT}/white/{year}/{name}"
    assert {link["rel"]: link["href"] for link in entry["link"] if link["rel"] != "hash"} == {
        "self": url,
        "signature": f"{url}.asc",
    }
    assert [link["href"] for link in entry["link"] if link["rel"] == "hash"] == [
        f"{url}.sha256",
        f"{url}.sha512",
    ]
    assert get(client, "white/index.txt").content.decode() == f"{year}/{name}\n"
    changes = get(client, "white/changes.csv")
    assert changes.content.decode() == f'"{year}/{name}","{entry["updated"]}"\n'

    document = get(client, f"white/{year}/{name}")
    data = document.content
    csaf = document.json()
    assert not errors(csaf_validator(), csaf)
    assert csaf["document"]["distribution"]["tlp"]["label"] == "WHITE"
    assert csaf["document"]["tracking"]["id"] == published.advisory_id
    self_refs = [r["url"] for r in csaf["document"]["references"] if r["category"] == "self"]
    assert self_refs == [url]
    assert MARKERS["title"] in data.decode()
    for marker in DEFENDER_MARKERS:
        assert marker not in data.decode(), f"defender-level {marker!r} leaked"
    for algorithm in ("sha256", "sha512"):
        companion = get(client, f"white/{year}/{name}.{algorithm}").content.decode()
        assert companion == f"{hashlib.new(algorithm, data).hexdigest()}  {name}\n"
    signature = get(client, f"white/{year}/{name}.asc")
    assert signature["Content-Type"] == "application/pgp-signature"
    verified = gpg_verify(key.content, signature.content, data)
    assert verified.returncode == 0, verified.stderr
    assert f"VALIDSIG {fingerprint}" in verified.stdout
    # Signed once: the same revision always gets the same bytes (HTTP caches, mirrors).
    assert get(client, f"white/{year}/{name}.asc").content == signature.content
    assert gpg_verify(key.content, signature.content, data.replace(b"Quokka", b"Qu0kka")).returncode

    # Not distributed: a draft, another TLP folder, the wrong year, an unknown file.
    get(client, f"white/{year}/{draft.advisory_id.lower()}.json", 404)
    get(client, f"green/{year}/{name}", 404)
    get(client, "green/csaf-feed-tlp-green.json", 404)
    get(client, "amber/index.txt", 404)
    get(client, f"white/{year - 1}/{name}", 404)
    get(client, f"white/{year}/{name}.md5", 404)
    assert client.post(f"{ROOT}/provider-metadata.json").status_code == 405


@pytest.mark.django_db
def test_a_new_revision_is_signed_again_and_a_withdrawal_stays_distributed(
    world: World, provider: None
) -> None:
    from modelcvd.advisories.services import advisory_transition, advisory_update

    advisory = make_advisory(world)
    client = Client()
    (entry,) = get(client, "white/csaf-feed-tlp-white.json").json()["feed"]["entry"]
    path = entry["content"]["src"].removeprefix(f"https://cvd.example.org{ROOT}/")
    before = get(client, path).content, get(client, f"{path}.asc").content
    advisory_update(
        actor=world.users["triager"],
        advisory_id=advisory.advisory_id,
        changes={"summary": "Wombat framing, now with a second variant."},
        changelog="A second variant.",
    )
    after = get(client, path).content, get(client, f"{path}.asc").content
    assert after[0] != before[0] and after[1] != before[1]
    advisory_transition(
        actor=world.users["triager"],
        advisory_id=advisory.advisory_id,
        to="withdrawn",
        reason="Duplicate.",
    )
    assert Advisory.objects.get(pk=advisory.pk).state == "withdrawn"
    get(client, path)


def test_layout_index_changes_and_hash_files() -> None:
    def at(day: int) -> datetime:
        return datetime(2026, 3, day, 12, tzinfo=UTC)

    entries = [
        layout.ProviderEntry("MCVD-2026-0002", "b", at(2), at(9)),
        layout.ProviderEntry(
            "MCVD-2025-0001", "a", datetime(2025, 12, 31, 23, 30, tzinfo=UTC), at(3)
        ),
    ]
    assert layout.index_txt(entries) == "2025/mcvd-2025-0001.json\n2026/mcvd-2026-0002.json\n"
    assert layout.changes_csv(entries) == (
        '"2026/mcvd-2026-0002.json","2026-03-09T12:00:00.000Z"\n'
        '"2025/mcvd-2025-0001.json","2026-03-03T12:00:00.000Z"\n'
    )
    assert layout.hash_file(b"x", "f.json", "sha256") == (
        f"{hashlib.sha256(b'x').hexdigest()}  f.json\n"
    )
    with pytest.raises(ValueError, match="md5"):
        layout.hash_file(b"x", "f.json", "md5")


@pytest.mark.django_db
def test_export_writes_the_tree_the_web_serves(
    world: World, provider: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelcvd.cli import main

    make_advisory(world)
    make_advisory(world, title="Quokka second jailbreak", aliases=[])
    out = tmp_path / "tree"
    assert main(["export", "--format", "csaf-provider", "--out", str(out), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    client = Client()
    relative = sorted(str(Path(f).relative_to(out)) for f in files)
    assert len(relative) == 5 + 2 * 4  # metadata, key, feed, index, changes; 4 per document
    for path in relative:  # byte for byte, signatures included (signed once)
        assert (out / path).read_bytes() == get(client, path).content, path
    refused = main(
        ["export", "--format", "csaf-provider", "--out", str(out), "--level", "defender"]
    )
    assert refused != 0
    assert "public level" in capsys.readouterr().err


def test_instance_key_lives_outside_the_database_0600(
    settings: Any, instance_key_home: Path
) -> None:
    from modelcvd.core.openpgp import openpgp_public_key

    settings.OPENPGP_HOME = instance_key_home
    key = openpgp_public_key()
    assert openpgp_public_key() == key  # created once
    assert instance_key_home.stat().st_mode & 0o777 == 0o700
    secrets = list((instance_key_home / "private-keys-v1.d").glob("*.key"))
    assert secrets, "gpg keeps the secret key in the home"
    for secret in secrets:
        assert secret.stat().st_mode & 0o777 == 0o600, secret
