"""Root URLconf: the JSON API under /api/, probes, and each app's pages (its own urls.py)."""

from django.urls import include, path

from modelcvd.api import api
from modelcvd.core import views as core_views
from modelcvd.reports.forensic_views import lineage_forensics_section
from modelcvd.web import views as web_views

urlpatterns = [
    path("api/", api.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("favicon.ico", web_views.favicon, name="favicon"),
    path("advisories/", include("modelcvd.advisories.urls")),
    path(".well-known/csaf/", include("modelcvd.advisories.csaf_urls")),
    path("", include("modelcvd.policy.urls")),
    path("", include("modelcvd.transparency.urls")),
    path("", include("modelcvd.accounts.urls")),
    path("", include("modelcvd.reports.urls")),
    path("", include("modelcvd.cases.urls")),
    path("", include("modelcvd.verification.urls")),
    # The lineage page shows the reports app's forensic-report form to coordinators.
    path("", include("modelcvd.artifacts.urls"), {"sections": [lineage_forensics_section]}),
    path("", include("modelcvd.metrics.urls")),
    path("", include("modelcvd.credits.urls")),
    path("", include("modelcvd.assessments.urls")),
    path("", include("modelcvd.notifications.urls")),
]
