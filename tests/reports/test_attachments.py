"""Attachments: limit, content-checked allowlist, sealed, served only as downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from modelcvd.core.models import AuditEvent
from modelcvd.reports.models import Attachment
from modelcvd.reports.services.attachments import safe_filename
from tests.factories import World


def _upload(api: Any, report_id: int, name: str, content: bytes) -> Any:
    return api.client.post(
        f"/api/v1/reports/{report_id}/attachments",
        data={"file": SimpleUploadedFile(name, content)},
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("page.html", b"<script>alert(1)</script>", "file type not allowed"),
        ("image.svg", b"<svg onload=alert(1)>", "file type not allowed"),
        ("fake.png", b"<html>not a png</html>", "content is not a png file"),
        ("fake.pdf", b"MZ\x90\x00", "content is not a pdf file"),
        ("binary.txt", b"\xff\xfe\x00bad", "text files must be UTF-8"),
        ("broken.json", b"{nope", "not valid JSON"),
        ("empty.txt", b"", "the file is empty"),
    ],
)
def test_disallowed_files_are_named_and_not_stored(
    world: World, api_as: Any, name: str, content: bytes, reason: str
) -> None:
    before = Attachment.objects.count()
    response = _upload(api_as("researcher_a"), world.reports["a"].pk, name, content)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "file" and error["reason"].startswith(reason)
    assert Attachment.objects.count() == before


def test_size_limit(world: World, api_as: Any, settings: Any) -> None:
    settings.MAX_ATTACHMENT_BYTES = 100
    response = _upload(api_as("researcher_a"), world.reports["a"].pk, "big.txt", b"x" * 101)
    assert response.json()["errors"] == [
        {"field": "file", "reason": "101 bytes exceeds the limit of 100"}
    ]


def test_upload_seals_and_download_is_an_audited_attachment(world: World, api_as: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = _upload(api_as("researcher_a"), world.reports["a"].pk, "../../etc/shot<1>.png", png)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["filename"], created["kind"], created["size"]) == (
        "shot_1_.png",
        "png",
        len(png),
    )
    stored = Attachment.objects.get(pk=created["id"])
    assert png not in bytes(stored.sealed.ciphertext)
    path = f"/api/v1/reports/{world.reports['a'].pk}/attachments/{created['id']}/download"
    download = api_as("vendor_a").post(path, {"reason": "reproduce"})
    assert download.status_code == 200
    assert download.content == png
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="shot_1_.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    event = AuditEvent.objects.filter(action="seal.open").latest("seq")
    assert (event.actor_label, event.object_type) == ("vendor_a", "reports.attachment")
    listed = api_as("triager").get(f"/api/v1/reports/{world.reports['a'].pk}/attachments").json()
    assert [a["filename"] for a in listed] == ["transcript.txt", "shot_1_.png"]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("a/b/c.txt", "c.txt"),
        ('x"; filename="evil.html', "x_ filename_evil.html"),
        ("...", "attachment"),
        ("C:\\\\Users\\\\me\\\\log.txt", "log.txt"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe
