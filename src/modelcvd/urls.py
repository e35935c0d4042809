"""Root URLconf: the JSON API under /api/, the web UI everywhere else."""

from django.urls import include, path

from modelcvd.api import api
from modelcvd.core import views as core_views

urlpatterns = [
    path("api/", api.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("advisories/", include("modelcvd.advisories.urls")),
    path("", include("modelcvd.web.urls")),
]
