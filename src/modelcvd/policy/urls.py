from django.urls import path

from modelcvd.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.programs, name="programs"),
    path("programs/<slug:slug>/", views.program_detail, name="program"),
    path("rubric/", views.rubric, name="rubric"),
    path(".well-known/security.txt", views.security_txt_default, name="security_txt"),
    path(
        "programs/<slug:slug>/security.txt",
        views.security_txt_program,
        name="program_security_txt",
    ),
]
