"""Metrics endpoint: public aggregates, as JSON or CSV."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.metrics.export import metrics_csv, metrics_data
from modelcvd.metrics.selectors import metrics_compute

router = Router(tags=["metrics"])


class MetricsQuery(Schema):
    program: str | None = Field(
        None, max_length=100, description="A program's slug; all if absent."
    )
    format: Literal["json", "csv"] = Field("json", description="json or csv")


@router.get(
    "/metrics",
    auth=None,
    response=dict[str, Any],
    summary="Response metrics (public aggregates), JSON or CSV",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The metrics: JSON, or with format=csv one row per number",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "additionalProperties": True}
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
@token_scope(PUBLIC)
def metrics(request: HttpRequest, filters: Query[MetricsQuery]) -> Any:
    m = metrics_compute(program_slug=filters.program)
    if filters.format == "csv":
        response = HttpResponse(metrics_csv(m), content_type="text/csv; charset=utf-8")
        name = f"metrics-{filters.program or 'all'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return metrics_data(m)
