"""The rough edges of issue 17, each checked where a person meets it: the rubric page the
program page links to, lineage pages that name their cases and advisories, metrics in days and
percentages, no empty "Intake" heading."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.advisories.helpers import make_advisory
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db


def test_program_page_links_the_rubric_page(world: World) -> None:
    page = Client().get(f"/programs/{world.program.slug}/").content.decode()
    assert 'href="/rubric/">AI severity rubric' in page
    assert "<h2>Intake</h2>" not in page  # nothing to say under it for this program
    rubric = Client().get("/rubric/").content.decode()
    assert "AI severity rubric, version 1.0" in rubric
    assert "at least 50%: 3" in rubric and "10 or more is <strong>critical</strong>" in rubric


def test_lineage_page_names_cases_and_advisories(world: World) -> None:
    advisory = make_advisory(world)
    artifact = world.artifacts["a"]
    anonymous = Client().get(f"/artifacts/{artifact.pk}/lineage/").content.decode()
    assert advisory.advisory_id in anonymous
    assert "Your cases" not in anonymous  # nobody learns of a case they cannot open
    vendor = sign_in(Client(), world.users["vendor_a"]).get(f"/artifacts/{artifact.pk}/lineage/")
    assert f'href="/cases/{world.cases["a"].pk}/"' in vendor.content.decode()
    other = sign_in(Client(), world.users["vendor_b"]).get(f"/artifacts/{artifact.pk}/lineage/")
    assert f'href="/cases/{world.cases["a"].pk}/"' not in other.content.decode()


def test_metrics_speak_days_and_percent(world: World) -> None:
    page = Client().get("/metrics/").content.decode()
    assert "Median (days)" in page and "(hours)" not in page
    assert not re.search(r"\(0\.\d{3}\)", page)  # no bare shares like (0.714)
