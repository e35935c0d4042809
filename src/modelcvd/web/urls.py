from django.contrib.auth import views as auth_views
from django.urls import path

from modelcvd.accounts import views as accounts_views
from modelcvd.accounts.forms import SignInForm
from modelcvd.reports import dedup_views
from modelcvd.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path(
        "signin/",
        auth_views.LoginView.as_view(
            template_name="web/signin.html", authentication_form=SignInForm
        ),
        name="login",
    ),
    path("signin/two-factor/", accounts_views.totp_verify, name="totp_verify"),
    path("signin/two-factor/setup/", accounts_views.totp_setup, name="totp_setup"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("programs/<slug:slug>/", views.program_detail, name="program"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/", views.reports_mine, name="reports_mine"),
    path("reports/<int:report_id>/", views.report_detail, name="report"),
    path("reports/<int:report_id>/attachments/", views.report_attach, name="report_attach"),
    path(
        "reports/<int:report_id>/attachments/<int:attachment_id>/",
        views.report_attachment_download,
        name="report_attachment",
    ),
    path("triage/", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/transition/", views.case_transition_view, name="case_transition"),
    path("cases/<int:case_id>/comments/", views.case_comment_view, name="case_comment"),
    path("cases/<int:case_id>/merge/", dedup_views.case_merge_view, name="case_merge"),
    path(
        "cases/<int:case_id>/duplicates/<int:duplicate_id>/dismiss/",
        dedup_views.duplicate_dismiss_view,
        name="case_duplicate_dismiss",
    ),
]
