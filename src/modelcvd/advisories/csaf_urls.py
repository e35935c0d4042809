"""`/.well-known/csaf/`: the CSAF 2.0 trusted provider (CSAF 2.0 section 7; csaf_views.py)."""

from django.urls import path, re_path

from modelcvd.advisories import csaf_views

app_name = "csaf"
# A folder is a TLP label in lower case; a document is `<YYYY>/<file name>.json` with the
# file name of CSAF 2.0 section 5.1 ([+\-a-z0-9_]).
DOCUMENT = r"(?P<tlp>[a-z]+)/(?P<year>[0-9]{4})/(?P<name>[+\-a-z0-9_]+\.json)"
urlpatterns = [
    path("provider-metadata.json", csaf_views.provider_metadata, name="provider_metadata"),
    re_path(
        r"^openpgp/(?P<fingerprint>[0-9A-Fa-f]{40,64})\.asc$", csaf_views.public_key, name="key"
    ),
    re_path(r"^(?P<tlp>[a-z]+)/index\.txt$", csaf_views.index, name="index"),
    re_path(r"^(?P<tlp>[a-z]+)/changes\.csv$", csaf_views.changes, name="changes"),
    re_path(
        r"^(?P<tlp>[a-z]+)/(?P<name>csaf-feed-tlp-[a-z]+\.json)$", csaf_views.feed, name="feed"
    ),
    re_path(f"^{DOCUMENT}$", csaf_views.document, name="document"),
    re_path(
        f"^{DOCUMENT}\\.(?P<suffix>sha256|sha512|asc)$", csaf_views.companion, name="companion"
    ),
]
