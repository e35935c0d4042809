from django.urls import path

from modelcvd.verification import target_views, views

app_name = "verification"
urlpatterns = [
    path("cases/<int:case_id>/score/", views.case_score_view, name="case_score"),
    path("cases/<int:case_id>/reverify/", views.reverify_view, name="reverify"),
    path("cases/<int:case_id>/fix-opinion/", views.fix_opinion_view, name="fix_opinion"),
    path("verifications/<int:run_id>/", views.run_page, name="run_page"),
    path("verifications/<int:run_id>/cancel/", views.run_cancel_view, name="run_cancel"),
    path(
        "verifications/<int:run_id>/attestation.json",
        views.run_attestation_view,
        name="run_attestation",
    ),
    path("cases/<int:case_id>/matrix/", views.matrix_request_view, name="matrix_request"),
    path("matrices/<int:group_id>/vendors/", views.matrix_bring_in_view, name="matrix_bring_in"),
    path("verification/targets/", target_views.targets_page, name="targets"),
    path(
        "verification/targets/<int:target_id>/offer/",
        target_views.target_offer_view,
        name="target_offer",
    ),
    path(
        "verification/targets/<int:target_id>/retire/",
        target_views.target_retire_view,
        name="target_retire",
    ),
]
