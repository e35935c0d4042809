from django.urls import path

from modelcvd.advisories import views

app_name = "advisories"
urlpatterns = [
    path("", views.registry, name="list"),
    path("feed.atom", views.AdvisoryFeed(), name="feed"),
    path("export.jsonl", views.registry_export, name="export"),
    path("<str:advisory_id>/", views.advisory_page, name="detail"),
]
