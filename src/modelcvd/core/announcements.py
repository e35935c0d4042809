"""Events a lower app announces for an app above it: the second inversion of the app layers,
beside core.projections, and explicit in the same way (the announcing service calls
`announce` inside its own transaction; no `post_save` signal).

- `REPORT_PAYLOAD`: a report's payload arrived (reports.services.intake), so verification can
  reproduce it before triage when its program asks for that;
- `ARTIFACT_VERSION`: an artifact version was recorded as superseding another (artifacts
  services: a new version registered, or a vendor's fix step naming its fixed version), so
  verification can re-run past reproduced cases on it (regression watch).

verification registers its listeners from its AppConfig.ready(); they only queue a task on
commit, so nothing slow runs inside a web request. With no listener an announcement does
nothing. Ids only: this module knows no domain app.
"""

from __future__ import annotations

from collections.abc import Callable

REPORT_PAYLOAD = "report.payload"
ARTIFACT_VERSION = "artifact.version"

_listeners: dict[str, dict[str, Callable[[int], None]]] = {}


def listener_register(event: str, name: str, listener: Callable[[int], None]) -> None:
    """Register (or replace) the listener `name` of `event`; called from an app's ready()."""
    _listeners.setdefault(event, {})[name] = listener


def announce(event: str, object_id: int) -> None:
    """Tell `event`'s listeners about `object_id` (in the caller's transaction)."""
    for listener in list(_listeners.get(event, {}).values()):
        listener(object_id)
