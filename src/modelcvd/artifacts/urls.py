from django.urls import path

from modelcvd.artifacts import views

app_name = "artifacts"
urlpatterns = [
    path("artifacts/<int:artifact_id>/lineage/", views.artifact_lineage, name="lineage"),
    path(
        "artifacts/<int:artifact_id>/forensic-report/",
        views.artifact_forensic_report,
        name="forensic_report",
    ),
]
