"""The report form in a real browser (issue 17.7): a report file fills it in, a turn is added
without any script, a model outside the scope is named, a file is attached in the form, and
the report arrives with its attachment sealed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelcvd.reports.models import Report
from tests.browser.test_intake_flow import browser, sign_in  # noqa: F401 - shared fixture
from tests.factories import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = """\
title: Loaded in the browser
abstract: A role-play framing gets past the refusal.
program: open-models
artifacts:
  - {provider: vendor-a, name: chat-7b, revision: %s}
technique: {owasp: LLM01, atlas: AML.T0054}
harm_category: privacy
reproduction:
  turns:
    - {role: user, content: first turn}
    - {role: assistant, content: second turn}
  successes: 3
  trials: 4
"""


def test_load_a_file_add_a_turn_attach_and_submit(
    browser: Any,  # noqa: F811
    live_server: Any,
    world: World,
    tmp_path: Path,
) -> None:
    report_file = tmp_path / "finding.yaml"
    report_file.write_text(REPORT % ("a" * 40))
    transcript = tmp_path / "transcript.txt"
    transcript.write_text("the model answered\n")
    page = browser.new_page()
    page.set_default_timeout(5000)
    sign_in(page, live_server.url, "researcher_b")
    page.get_by_role("link", name="Submit a report").first.click()
    page.get_by_text("Start from a report file (YAML or JSON)").click()
    page.get_by_label("Report file").set_input_files(str(report_file))
    page.get_by_role("button", name="Load the file into the form").click()
    page.get_by_text("The file is loaded and valid").wait_for()
    assert page.get_by_label("Title").input_value() == "Loaded in the browser"
    assert page.get_by_label("Turn 2 content").input_value() == "second turn"

    page.get_by_role("button", name="Add a turn").click()
    page.get_by_label("Turn 3 content").fill("third turn")
    assert page.get_by_label("Turn 1 content").input_value() == "first turn"
    page.get_by_label("Another model, not in this list").check()
    page.get_by_label("Model provider").fill("someone-else")
    page.get_by_label("Model name").fill("finetune-x")
    page.get_by_label("Attach files").set_input_files(str(transcript))
    page.get_by_role("button", name="Submit report").click()
    page.get_by_text("1 file(s) attached and sealed").wait_for()
    page.get_by_text("triaged out of scope").first.wait_for()
    page.get_by_text("transcript.txt").first.wait_for()

    report = Report.objects.latest("pk")
    assert report.title == "Loaded in the browser"
    assert sorted(str(a) for a in report.artifacts.all()) == [
        "someone-else/finetune-x",
        f"vendor-a/chat-7b@{'a' * 12}",
    ]
    assert report.attachments.get().filename == "transcript.txt"
    page.close()
