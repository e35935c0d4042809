"""Facts kept current by the services, the rebuild, the business-day SQL against due_at, and the
metrics through the API, the CLI and the dashboard."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from modelcvd.cli import main
from modelcvd.metrics.facts import allowed_seconds_sql
from modelcvd.metrics.models import CaseFact
from modelcvd.metrics.selectors import metrics_compute
from modelcvd.metrics.services import metrics_rebuild
from modelcvd.policy.deadlines import BusinessDays, CalendarDays, due_at
from tests.factories import World
from tests.metrics.dataset import AS_OF, build_dataset

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in CaseFact._meta.concrete_fields]


def _facts() -> list[tuple[Any, ...]]:
    return list(CaseFact.objects.order_by("case_id").values_list(*FIELDS))


def test_services_keep_the_facts_current_and_rebuild_agrees(world: World) -> None:
    facts = {f.case_id: f for f in CaseFact.objects.all()}
    a = facts[world.cases["a"].pk]
    assert a.valid and a.triaged and a.is_open and a.ack_s is not None
    assert facts[world.cases["b"].pk].ack_s is None
    incremental = _facts()
    assert metrics_rebuild() == 2
    assert _facts() == incremental


def test_rebuild_matches_incremental_on_the_fixed_dataset() -> None:
    build_dataset()
    incremental = _facts()
    metrics_rebuild()
    assert _facts() == incremental


@pytest.mark.parametrize("duration", [BusinessDays(2), BusinessDays(5), CalendarDays(30)])
def test_deadline_sql_agrees_with_due_at(duration: BusinessDays | CalendarDays) -> None:
    rng = random.Random(8)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [base + timedelta(seconds=rng.randrange(0, 400 * 86_400)) for _ in range(300)]
    starts += [base + timedelta(days=d, hours=h) for d in range(14) for h in (0, 9, 17, 23)]
    epochs = [int(s.timestamp()) for s in starts]
    sql = allowed_seconds_sql(duration, "s")
    values = " UNION ALL ".join(f"SELECT {e} AS s" for e in epochs)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s, {sql} FROM ({values}) AS t ORDER BY s", [])  # noqa: S608
        got = dict(cursor.fetchall())
    for start, epoch in zip(starts, epochs, strict=True):
        expected = int(due_at(start, duration).timestamp()) - epoch
        assert got[epoch] == expected, (start, duration)


def test_api_json_and_csv() -> None:
    build_dataset()
    client = Client()
    data = client.get("/api/v1/metrics").json()
    assert data["overall"]["received"] == 6
    assert [p["slug"] for p in data["programs"]] == ["alpha", "beta"]
    response = client.get("/api/v1/metrics?format=csv&program=alpha")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    received = [r for r in rows if r["section"] == "summary" and r["key"] == "received"]
    assert {r["program"]: r["value"] for r in received} == {"": "4", "alpha": "4"}
    bad = client.get("/api/v1/metrics?format=xml")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
    assert client.get("/api/v1/metrics?program=nope").status_code == 404


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    build_dataset()
    assert main(["metrics", "--format", "json", "--program", "beta"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["received"] == 2 and data["programs"][0]["slug"] == "beta"
    assert main(["metrics", "--format", "csv", "--rebuild"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "rebuilt the facts of 6 cases\n"
    out = captured.out
    assert out.splitlines()[0].startswith("program,section,key")
    assert main(["metrics", "--program", "nope"]) == 3  # not found (was 1)
    assert "no program 'nope'" in capsys.readouterr().err


def test_dashboard_draws_the_charts() -> None:
    build_dataset()
    page = Client().get("/metrics/").content.decode()
    for chart in ("monthly", "times", "compliance", "ages", "exploit"):
        assert f'id="chart-{chart}"' in page
    assert page.count("<svg") == 5
    assert page.count('class="mark"') > 20
    assert 'data-series="before fix"' in page
    one = Client().get("/metrics/?program=beta").content.decode()
    assert "Response metrics: Beta" in one
    assert Client().get("/metrics/?program=nope").status_code == 404


def test_metrics_have_no_case_level_data() -> None:
    dataset = build_dataset()
    body = json.dumps(json.loads(Client().get("/api/v1/metrics").content))
    assert "fixed" not in body.replace("after_fix", "")  # case titles are "fixed"
    assert dataset.reporter.username not in body
    assert metrics_compute(as_of=AS_OF).overall.received == 6
