from django.urls import path

from modelcvd.artifacts import views

app_name = "artifacts"
# The forensic-report form posts to the reports app (reports/urls.py), which files the report.
urlpatterns = [
    path("artifacts/", views.artifact_index, name="index"),
    path("artifacts/<int:artifact_id>/lineage/", views.artifact_lineage, name="lineage"),
]
