from django.urls import path
from django.views.generic import RedirectView

from modelcvd.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.programs, name="programs"),
    # The list of programs is the home page; an address trimmed to /programs/ finds it.
    path("programs/", RedirectView.as_view(pattern_name="policy:programs"), name="program_index"),
    path("programs/<slug:slug>/", views.program_detail, name="program"),
    path("rubric/", views.rubric, name="rubric"),
    path(".well-known/security.txt", views.security_txt_default, name="security_txt"),
    path(
        "programs/<slug:slug>/security.txt",
        views.security_txt_program,
        name="program_security_txt",
    ),
]
