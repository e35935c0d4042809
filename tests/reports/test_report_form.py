"""The report form (issue 17.7): the program first, models ticked from its scope or named as
"another model" with what happens next, any number of turns by server round trip, files sealed
with the report in one transaction, and a report file that fills the form in."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.core.models import AuditEvent
from modelcvd.policy.models import Program
from modelcvd.reports.document import report_json_schema
from modelcvd.reports.models import Attachment, Report
from modelcvd.reports.services import report_payload_open
from tests.factories import World, sign_in

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _client(world: World, role: str = "researcher_b") -> Client:
    return sign_in(Client(), world.users[role])


def _data(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "program": "open-models",
        "turns": "1",
        "title": "Form finding",
        "abstract": "Short abstract.",
        "artifacts": [str(world.artifacts["a"].pk)],
        "owasp": "LLM01",
        "atlas": "AML.T0054",
        "harm_category": "privacy",
        "system_prompt": "sys",
        "temperature": "0.7",
        "top_p": "1",
        "max_tokens": "64",
        "successes": "2",
        "trials": "5",
        "turn_1_role": "user",
        "turn_1_content": "hello",
        "form_action": "submit",
    }
    data.update(overrides)
    return data


def _page(response: Any) -> str:
    return str(response.content.decode())


def test_the_program_comes_first_when_there_are_several(world: World) -> None:
    Program.objects.create(
        organisation=world.program.organisation, name="Second", slug="second", policy_text="."
    )
    client = _client(world)
    picker = _page(client.get("/reports/new/"))
    assert "Choose the program" in picker
    assert 'href="/reports/new/?program=second"' in picker
    form = _page(client.get("/reports/new/?program=open-models"))
    assert "Submit a report to Open models" in form


def test_models_are_ticked_from_the_programs_scope(world: World) -> None:
    client = _client(world)
    page = _page(client.get("/reports/new/?program=open-models"))
    for artifact in world.artifacts.values():
        assert f'value="{artifact.pk}"' in page
    assert "Another model, not in this list" in page
    response = client.post("/reports/new/", _data(world))
    assert response.status_code == 302
    report = Report.objects.latest("pk")
    assert list(report.artifacts.all()) == [world.artifacts["a"]]
    assert not TimelineEvent.objects.filter(case=report.case, kind="scope").exists()


def test_another_model_is_taken_and_the_case_says_scope_is_decided_at_triage(
    world: World,
) -> None:
    client = _client(world)
    other = {
        "artifacts": ["other"],
        "artifact_provider": "made-up",
        "artifact_name": "imaginary-7b",
    }
    response = client.post("/reports/new/", _data(world, **other), follow=True)
    assert "triaged out of scope" in _page(response)  # what happens next, told at once
    report = Report.objects.latest("pk")
    assert [str(a) for a in report.artifacts.all()] == ["made-up/imaginary-7b"]
    note = TimelineEvent.objects.get(case=report.case, kind="scope")
    assert "outside the program's listed scope" in note.reason
    assert "made-up/imaginary-7b" in note.reason


def test_another_model_needs_its_name_and_some_model_is_needed(world: World) -> None:
    client = _client(world)
    before = Report.objects.count()
    response = client.post("/reports/new/", _data(world, artifacts=["other"]))
    assert response.status_code == 422
    assert "required for a model that is not in the list" in _page(response)
    response = client.post("/reports/new/", _data(world, artifacts=[]))
    assert response.status_code == 422
    assert "tick the affected model" in _page(response)
    assert Report.objects.count() == before


def test_turns_are_added_and_removed_without_script_and_all_are_sealed(world: World) -> None:
    client = _client(world)
    data = _data(world, form_action="add_turn")
    page = _page(client.post("/reports/new/", data))
    assert 'name="turn_2_content"' in page and 'name="turn_3_content"' not in page
    assert 'value="Form finding"' in page  # what was typed stays
    assert 'name="turns" value="2"' in page
    # Six turns: more than the old form's four.
    turns = {f"turn_{i}_content": f"turn {i}" for i in range(1, 7)}
    roles = {f"turn_{i}_role": "user" if i % 2 else "assistant" for i in range(1, 7)}
    page = _page(client.post("/reports/new/", _data(world, turns="6", **turns, **roles)))
    report = Report.objects.latest("pk")
    payload = report_payload_open(report=report, actor=world.users["researcher_b"], reason="t")
    assert [t["content"] for t in payload["turns"]] == [f"turn {i}" for i in range(1, 7)]
    assert [t["role"] for t in payload["turns"]][:2] == ["user", "assistant"]
    page = _page(client.post("/reports/new/", _data(world, turns="3", form_action="remove_turn")))
    assert 'name="turn_2_content"' in page and 'name="turn_3_content"' not in page


def test_files_chosen_in_the_form_are_sealed_with_the_report(world: World) -> None:
    client = _client(world)
    files = [
        SimpleUploadedFile("transcript.txt", b"the model said yes\n"),
        SimpleUploadedFile("screen.png", PNG),
    ]
    response = client.post("/reports/new/", _data(world, attachments=files), follow=True)
    assert "2 file(s) attached and sealed" in _page(response)
    report = Report.objects.latest("pk")
    stored = Attachment.objects.filter(report=report).order_by("filename")
    assert [a.filename for a in stored] == ["screen.png", "transcript.txt"]
    assert all(b"the model said yes" not in bytes(a.sealed.ciphertext) for a in stored)
    assert AuditEvent.objects.filter(action="attachment.add", actor=report.reporter).count() >= 2


def test_one_bad_file_refuses_the_whole_report_and_names_it(world: World) -> None:
    client = _client(world)
    reports, cases = Report.objects.count(), Case.objects.count()
    files = [
        SimpleUploadedFile("notes.txt", b"fine\n"),
        SimpleUploadedFile("fake.png", b"not a png at all"),
    ]
    response = client.post("/reports/new/", _data(world, attachments=files))
    assert response.status_code == 422
    assert "fake.png: content is not a png file" in _page(response)
    assert (Report.objects.count(), Case.objects.count()) == (reports, cases)
    assert not Attachment.objects.filter(filename="notes.txt", report__title="Form finding")


REPORT_YAML = """\
format_version: "1.0"
title: Loaded from a file
abstract: Role-play framing bypasses the refusal.
program: open-models
artifacts:
  - provider: vendor-a
    name: chat-7b
    revision: {rev}
  - provider: someone-else
    name: finetune-x
technique: {{owasp: LLM01, atlas: AML.T0054}}
harm_category: privacy
reproduction:
  system_prompt: You are helpful.
  turns:
    - {{role: user, content: first turn}}
    - {{role: assistant, content: second turn}}
    - {{role: user, content: third turn}}
  sampling: {{temperature: 0.5, max_tokens: 32}}
  successes: 3
  trials: 4
"""


def _load(client: Client, name: str, content: bytes, program: str = "open-models") -> Any:
    upload = SimpleUploadedFile(name, content)
    data = {"program": program, "form_action": "load_file", "report_file": upload}
    return client.post("/reports/new/", data)


def test_a_report_file_fills_the_form_and_stores_nothing(world: World) -> None:
    client = _client(world)
    before = Report.objects.count()
    text = REPORT_YAML.format(rev="a" * 40)
    response = _load(client, "finding.yaml", text.encode())
    page = _page(response)
    assert response.status_code == 200
    assert "The file is loaded and valid" in page
    assert 'value="Loaded from a file"' in page
    assert re.search(rf'value="{world.artifacts["a"].pk}"[^>]*checked', page)
    assert re.search(r'value="other"[^>]*checked', page)
    assert 'value="someone-else"' in page
    assert "third turn" in page and 'name="turns" value="3"' in page
    assert Report.objects.count() == before
    # The same document as JSON.
    data = json.loads(json.dumps(__import__("yaml").safe_load(text)))
    page = _page(_load(client, "finding.json", json.dumps(data).encode()))
    assert 'value="Loaded from a file"' in page


def test_a_report_file_with_problems_is_loaded_and_the_problems_named(world: World) -> None:
    client = _client(world)
    text = REPORT_YAML.format(rev="a" * 40).replace("successes: 3", "successes: 9")
    page = _page(_load(client, "finding.yml", text.encode()))
    assert "the report format finds these to fix" in page
    assert "successes cannot exceed trials" in page
    assert 'value="Loaded from a file"' in page


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("x.yaml", b"a: &a [1]\nb: *a\n", "aliases"),
        ("x.yaml", b"- just\n- a list\n", "one report (a mapping)"),
        ("x.json", b"{not json", "not valid JSON"),
        ("x.json", b"[" * 5000, "nested deeper"),
        ("x.yaml", b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_hostile_or_broken_report_file_is_refused_by_name(
    world: World, name: str, content: bytes, reason: str
) -> None:
    page = _page(_load(_client(world), name, content))
    assert reason in page


def test_a_file_for_another_program_switches_the_form(world: World) -> None:
    Program.objects.create(
        organisation=world.program.organisation, name="Second", slug="second", policy_text="."
    )
    text = REPORT_YAML.format(rev="a" * 40).replace("program: open-models", "program: second")
    page = _page(_load(_client(world), "f.yaml", text.encode()))
    assert "The file reports to Second" in page
    assert 'name="program" value="second"' in page


def test_the_anonymous_form_takes_files_and_turns_too(world: World) -> None:
    client = Client()
    page = _page(
        client.post("/reports/anonymous/open-models/", _data(world, form_action="add_turn"))
    )
    assert 'name="turn_2_content"' in page
    files = [SimpleUploadedFile("log.txt", b"log\n")]
    response = client.post("/reports/anonymous/open-models/", _data(world, attachments=files))
    assert response.status_code == 200 and "follow-up" in _page(response).lower()
    assert Report.objects.latest("pk").attachments.count() == 1


def test_the_report_schema_is_served_at_its_id_and_matches_the_published_file(
    world: World,
) -> None:
    response = Client().get("/schemas/report/1.0/report.schema.json")
    assert response.status_code == 200
    assert response.json() == report_json_schema()
    assert response.json() == json.loads((ROOT / "schemas" / "report.schema.json").read_text())


@pytest.mark.parametrize("turns", ["9" * 5000, "-3", "abc", "100000"])
def test_an_absurd_turn_count_is_clamped_not_a_500(world: World, turns: str) -> None:
    client = _client(world)
    response = client.post("/reports/new/", _data(world, turns=turns, form_action="add_turn"))
    assert response.status_code == 200
    response = client.post("/reports/new/", {**_data(world), "turn_99999_content": "x"})
    assert response.status_code == 302
