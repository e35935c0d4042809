"""The site icon: /favicon.ico answers with the icon file (browsers ask for it on every site,
and the 404 filled the console, issue 17), and every page links the SVG icon."""

from __future__ import annotations

from pathlib import Path

from django.test import Client

import modelcvd.web

STATIC = Path(modelcvd.web.__file__).parent / "static" / "web"


def test_favicon_ico_is_the_icon_file_from_static() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert body == (STATIC / "favicon.ico").read_bytes()
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO signature: an icon, not a page
    assert "max-age=86400" in response["Cache-Control"]


def test_pages_link_the_svg_icon_that_static_serves(db: None) -> None:
    html = Client().get("/").content.decode()
    assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in html
    svg = (STATIC / "favicon.svg").read_text()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
