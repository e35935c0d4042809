"""A report file uploaded to fill in the report form: YAML or JSON in the open report format
(the file `modelcvd report submit` takes). Read, checked against the format, mapped onto the
form's inputs; nothing is stored.

The file is untrusted: PyYAML's safe loader, with aliases refused (a few kilobytes of nested
aliases expand into gigabytes), nesting bounded before either parser recurses, and a size cap.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.conf import settings

from modelcvd.artifacts.models import Artifact
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.core.jsonbounds import json_too_deep
from modelcvd.core.validation import parse_model
from modelcvd.reports.document import ReportDocument

MAX_REPORT_FILE_BYTES = 1024 * 1024
FIELD = "report_file"
OTHER = "other"


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def _refuse(reason: str) -> InvalidInput:
    return InvalidInput([FieldError(FIELD, reason)])


def report_file_read(filename: str, content: bytes) -> dict[str, Any]:
    """The document in the file, as a mapping; InvalidInput naming `report_file` otherwise."""
    if len(content) > MAX_REPORT_FILE_BYTES:
        raise _refuse(f"larger than {MAX_REPORT_FILE_BYTES} bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("not UTF-8 text") from None
    # Brackets and indentation both nest; bound the brackets before a parser recurses, and
    # catch the recursion of a deeply indented YAML file below.
    if json_too_deep(content, settings.MAX_JSON_DEPTH):
        raise _refuse(f"nested deeper than {settings.MAX_JSON_DEPTH} levels")
    is_json = filename.lower().endswith(".json")
    try:
        data = json.loads(text) if is_json else yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if is_json else "YAML"
        raise _refuse(f"not valid {kind}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise _refuse("nested too deeply") from None
    if not isinstance(data, dict):
        raise _refuse("the file must hold one report (a mapping), as in the report format")
    return data


def report_file_problems(data: dict[str, Any]) -> list[FieldError]:
    """What the report format says is wrong with the document (empty when it is valid)."""
    try:
        parse_model(ReportDocument, data)
    except InvalidInput as exc:
        return list(exc.errors)
    return []


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def report_form_initial(
    data: dict[str, Any], scope: dict[str, Artifact]
) -> tuple[dict[str, Any], int, list[str]]:
    """The report form's initial values from a document: (initial, number of turns, notes).

    Artifacts found in the program's scope are ticked; one other model fills the "other model"
    inputs; a note says what could not be carried over."""
    notes: list[str] = []
    technique = _mapping(data.get("technique"))
    repro = _mapping(data.get("reproduction"))
    sampling = _mapping(repro.get("sampling"))
    initial: dict[str, Any] = {
        key: _text(data.get(key))
        for key in (
            "title",
            "abstract",
            "harm_category",
            "expected_behaviour",
            "observed_behaviour",
            "impact",
        )
    }
    initial.update(
        owasp=_text(technique.get("owasp")),
        atlas=_text(technique.get("atlas")),
        system_prompt=_text(repro.get("system_prompt")),
        successes=_text(repro.get("successes")),
        trials=_text(repro.get("trials")),
        **{k: _text(sampling.get(k)) for k in ("temperature", "top_p", "max_tokens", "seed")},
    )
    by_ref = {(a.provider, a.name, a.revision): pk for pk, a in scope.items()}
    ticked: list[str] = []
    others: list[dict[str, Any]] = []
    refs = data.get("artifacts")
    for ref in refs if isinstance(refs, list) else []:
        ref = _mapping(ref)
        key = (_text(ref.get("provider")), _text(ref.get("name")), _text(ref.get("revision")))
        if key in by_ref:
            ticked.append(by_ref[key])
        else:
            others.append(ref)
    if others:
        ticked.append(OTHER)
        first = others[0]
        for part in ("provider", "name", "revision", "version_label", "weights_digest"):
            initial[f"artifact_{part}"] = _text(first.get(part))
    if len(others) > 1:
        skipped = ", ".join(
            f"{_text(r.get('provider'))}/{_text(r.get('name'))}" for r in others[1:]
        )
        notes.append(
            f"The form takes one model outside the program's list; not carried over: {skipped}. "
            "`modelcvd report submit FILE` sends them all."
        )
    # What the file leaves out keeps the form's defaults (sampling, ATLAS technique).
    initial = {k: v for k, v in initial.items() if v != ""}
    initial["artifacts"] = ticked
    turns = repro.get("turns")
    turns = [_mapping(t) for t in turns] if isinstance(turns, list) else []
    for i, turn in enumerate(turns, start=1):
        initial[f"turn_{i}_role"] = _text(turn.get("role")) or ("user" if i % 2 else "assistant")
        initial[f"turn_{i}_content"] = _text(turn.get("content"))
    return initial, max(1, len(turns)), notes
