"""Pages that belong to no domain app: the site icon browsers ask for at /favicon.ico."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from django.http import FileResponse, HttpRequest
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# Browsers ask for /favicon.ico on every site whatever the page links, so it is answered at the
# root; the pages link the SVG icon under /static/ (base.html). Read from the package, not from
# STATIC_ROOT, so it answers before `collectstatic` has run.
FAVICON: Final = Path(__file__).resolve().parent / "static" / "web" / "favicon.ico"


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    return FileResponse(FAVICON.open("rb"), content_type="image/vnd.microsoft.icon")
