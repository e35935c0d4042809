"""Root URLconf: the JSON API under /api/, the web UI everywhere else."""

from django.urls import include, path

from modelcvd.api import api

urlpatterns = [
    path("api/", api.urls),
    path("advisories/", include("modelcvd.advisories.urls")),
    path("", include("modelcvd.web.urls")),
]
