"""Hostile request bodies get a bounded, named answer (400/413/422), never a 500.

Issue 15, defect 9: deeply nested JSON holding a `\\u0000` sent to any path ended in a
RecursionError in the NUL check; a deeply nested `.json` attachment did the same in the
attachment check. The limits are MAX_REQUEST_BYTES and MAX_JSON_DEPTH (docs/settings.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from modelcvd.core.jsonbounds import json_too_deep, nul_path
from modelcvd.reports.models import Attachment, Report
from tests.factories import World

DEPTH = 50_000  # far past the interpreter's recursion limit; still a small body (100 kB)


def _deep(inner: str, depth: int = DEPTH) -> str:
    return "[" * depth + inner + "]" * depth


def _paths(world: World) -> list[str]:
    return [
        "/api/v1/reports",
        f"/api/v1/cases/{world.cases['a'].pk}/comments",
        f"/api/v1/reports/{world.reports['a'].pk}/unseal",
        "/accounts/signin/",
        "/no/such/page",
    ]


@pytest.mark.parametrize("inner", ['"\\u0000"', '{"a": "x\\u0000"}', "1"])
def test_deeply_nested_json_to_any_path_is_400_naming_the_limit(
    world: World, api_as: Any, inner: str
) -> None:
    api = api_as("researcher_a")
    before = Report.objects.count()
    for path in _paths(world):
        for content_type in ("application/json", "text/plain"):
            response = api.client.post(
                path,
                data=_deep(inner),
                content_type=content_type,
                HTTP_AUTHORIZATION=f"Bearer {api.token}",
            )
            assert response.status_code == 400, (path, content_type, response.content)
            assert response.json()["errors"] == [
                {
                    "field": "body",
                    "reason": f"nested deeper than {settings.MAX_JSON_DEPTH} levels",
                }
            ]
    assert Report.objects.count() == before


def test_nul_at_the_depth_limit_is_still_a_named_422(world: World, api_as: Any) -> None:
    depth = settings.MAX_JSON_DEPTH - 1
    body = '{"body": "x", "visibility": "internal", "extra": ' + _deep('"\\u0000"', depth) + "}"
    response = api_as("triager").post(f"/api/v1/cases/{world.cases['a'].pk}/comments", raw=body)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "extra" + ".0" * depth, "reason": "must not contain NUL characters"}
    ]


def test_an_oversized_body_is_413_naming_the_limit(world: World, settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = 1000
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/reports", data=_deep("1", 600), content_type="application/json"
    )
    assert response.status_code == 413
    assert "limit of 1000" in response.json()["detail"]


def test_deeply_nested_json_attachment_is_422_naming_the_limit(world: World, api_as: Any) -> None:
    api = api_as("researcher_a")
    before = Attachment.objects.count()
    for inner in ("1", '"\\u0000"'):
        response = api.client.post(
            f"/api/v1/reports/{world.reports['a'].pk}/attachments",
            data={"file": SimpleUploadedFile("deep.json", _deep(inner).encode())},
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
        )
        assert response.status_code == 422, response.content
        assert response.json()["errors"] == [
            {
                "field": "file",
                "reason": f"JSON nested deeper than {settings.MAX_JSON_DEPTH} levels",
            }
        ]
    assert Attachment.objects.count() == before


def test_the_depth_count_skips_brackets_inside_strings() -> None:
    assert not json_too_deep(b'{"a": "' + b"[" * 1000 + b'\\"["}', 3)
    assert not json_too_deep(b"[[[]]]", 3)
    assert json_too_deep(b"[[[[]]]]", 3)
    assert json_too_deep(b'{"a": {"b": {"c": {"d": 1}}}}', 3)
    assert not json_too_deep(b"[" + b"[1]," * 10_000 + b"[]]", 3)


def test_the_nul_walk_needs_no_recursion() -> None:
    value: Any = "x\x00"
    for _ in range(DEPTH):
        value = [value]
    assert nul_path(value) == ".".join(["0"] * DEPTH)
    assert nul_path({"a": [1, {"b\x00": 2}]}) == "a.1.b\x00"
    assert nul_path({"a": ["fine", {"b": None}]}) is None
