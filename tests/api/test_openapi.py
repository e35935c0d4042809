"""The served OpenAPI document is valid OpenAPI 3 as the bytes say, not only as json.loads
reads them: json.loads keeps the last of two equal keys, so a document with two "200"
answers looked fine here while Swagger UI refused it (issue 17)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

from modelcvd.accounts.scopes import OPENAPI_KEY

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    if repeated:
        raise ValueError(
            f"duplicate keys {repeated} in an object with keys {[k for k, _ in pairs]}"
        )
    return dict(pairs)


def served_document() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicate_keys)
    return document


def test_the_duplicate_key_check_catches_what_json_loads_hides() -> None:
    raw = '{"responses": {"200": {"description": "a"}, "200": {"description": "b"}}}'
    assert json.loads(raw) == {"responses": {"200": {"description": "b"}}}
    with pytest.raises(ValueError, match="duplicate keys"):
        json.loads(raw, object_pairs_hook=_no_duplicate_keys)


def test_the_served_document_has_no_duplicate_keys_and_is_valid_openapi() -> None:
    document = served_document()
    assert document["openapi"].startswith("3.")
    validate(document)  # raises OpenAPIValidationError naming the first fault


def test_every_operation_declares_its_token_scopes_and_string_statuses() -> None:
    document = served_document()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 50
    for path, method, operation in operations:
        declared = operation[OPENAPI_KEY]
        assert set(declared) == {"public", "required", "one_of"}, (path, method)
        assert all(isinstance(status, str) for status in operation["responses"]), (path, method)


def test_the_two_operations_that_had_two_200_answers_keep_their_declared_one() -> None:
    paths = served_document()["paths"]
    metrics = paths["/api/v1/metrics"]["get"]["responses"]["200"]
    assert set(metrics["content"]) == {"application/json", "text/csv"}
    assert metrics["description"].startswith("The metrics: JSON, or with format=csv")
    download = paths["/api/v1/reports/{report_id}/attachments/{attachment_id}/download"]
    answer = download["post"]["responses"]["200"]
    assert set(answer["content"]) == {"application/octet-stream"}
    assert "Content-Disposition: attachment" in answer["description"]
