from django.urls import path

from modelcvd.advisories import authoring_views, views

app_name = "advisories"
urlpatterns = [
    path("", views.registry, name="list"),
    path("feed.atom", views.AdvisoryFeed(), name="feed"),
    path("export.jsonl", views.registry_export, name="export"),
    path("draft/<int:case_id>/", authoring_views.advisory_draft, name="draft"),
    path("<str:advisory_id>/", views.advisory_page, name="detail"),
    path(
        "<str:advisory_id>/attestations/<int:run_id>.json",
        views.advisory_attestation,
        name="attestation",
    ),
    path("<str:advisory_id>/edit/", authoring_views.advisory_edit, name="edit"),
    path("<str:advisory_id>/transition/", authoring_views.advisory_move, name="transition"),
    path("<str:advisory_id>/approve/", authoring_views.advisory_approve_view, name="approve"),
    path(
        "<str:advisory_id>/reproduction/",
        views.advisory_read_reproduction,
        name="reproduction",
    ),
]
