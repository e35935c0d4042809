from django.urls import path

from modelcvd.assessments import views

app_name = "assessments"
urlpatterns = [
    path("assessments/", views.assessment_list, name="list"),
    path("assessments/compare/", views.compare, name="compare"),
    path("assessments/new/", views.assessment_new, name="new"),
    path("assessments/<int:assessment_id>/", views.assessment_detail, name="detail"),
    path(
        "assessments/<int:assessment_id>/publish/",
        views.assessment_publish_view,
        name="publish",
    ),
]
