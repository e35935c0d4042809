from django.urls import path

from modelcvd.advisories import authoring_views, views

app_name = "advisories"
urlpatterns = [
    path("", views.registry, name="list"),
    path("feed.atom", views.advisory_feed, name="feed"),
    path("export.jsonl", views.registry_export, name="export"),
    # The OSV-style dump, at URLs that stay: OSV's own layout under osv/.
    path("osv/all.zip", views.osv_all_zip, name="osv_all"),
    path("osv/modified_id.csv", views.osv_modified_ids, name="osv_modified_ids"),
    path("osv/<str:advisory_id>.json", views.osv_record, name="osv_record"),
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
