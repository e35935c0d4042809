"""`make demo` shows the registry: the demo publishes two advisories, once."""

from __future__ import annotations

import pytest
from django.test import Client

from modelcvd.advisories.models import Advisory
from modelcvd.demo import demo_load


@pytest.mark.django_db
def test_demo_publishes_advisories_once() -> None:
    demo_load(progress=lambda line: None)
    demo_load(progress=lambda line: None)
    assert Advisory.objects.filter(state="published").count() == 2
    listing = Client().get("/advisories/").content.decode()
    for advisory in Advisory.objects.all():
        assert advisory.advisory_id in listing
    acme = Advisory.objects.filter(artifacts__name="acme-chat-7b").distinct().get()
    assert list(acme.revisions.values_list("changelog", flat=True)) == [
        "Initial publication.",
        "Added the AVID alias.",
    ]
