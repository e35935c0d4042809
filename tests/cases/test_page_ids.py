"""The case page holds many forms (move, deadlines, extensions, embargo, vendors, comments,
verification): every id on it is unique, so each label names its own field (with five fields
called `id_reason`, the embargo form's "Reason" label focused the move form's field; the browser
walk found it)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.test import Client

from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["triager", "vendor_a", "researcher_a"])
def test_every_id_on_the_case_page_is_unique(world: World, role: str) -> None:
    page = sign_in(Client(), world.users[role]).get(f"/cases/{world.cases['a'].pk}/")
    assert page.status_code == 200
    ids = Counter(re.findall(r'\sid="([^"]+)"', page.content.decode()))
    assert [i for i, n in ids.items() if n > 1] == []
    labels = re.findall(r'<label for="([^"]+)"', page.content.decode())
    assert labels and set(labels) <= set(ids)  # and every label's field is there
