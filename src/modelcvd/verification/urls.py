from django.urls import path

from modelcvd.verification import views

app_name = "verification"
urlpatterns = [
    path("cases/<int:case_id>/score/", views.case_score_view, name="case_score"),
    path("cases/<int:case_id>/reverify/", views.reverify_view, name="reverify"),
    path("cases/<int:case_id>/fix-opinion/", views.fix_opinion_view, name="fix_opinion"),
    path(
        "verifications/<int:run_id>/attestation.json",
        views.run_attestation_view,
        name="run_attestation",
    ),
]
