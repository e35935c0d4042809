from django.contrib.auth import views as auth_views
from django.urls import path

from modelcvd.accounts import views as accounts_views
from modelcvd.accounts.forms import SignInForm
from modelcvd.web import policy_views, views

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
    path(".well-known/security.txt", policy_views.security_txt_default, name="security_txt"),
    path(
        "programs/<slug:slug>/security.txt",
        policy_views.security_txt_program,
        name="program_security_txt",
    ),
    path("reports/abstract/", policy_views.report_abstract_new, name="report_abstract"),
    path("reports/<int:report_id>/scope/", policy_views.report_scope_view, name="report_scope"),
    path(
        "reports/<int:report_id>/payload/", policy_views.report_payload_view, name="report_payload"
    ),
    path("cases/<int:case_id>/score/", policy_views.case_score_view, name="case_score"),
    path("cases/<int:case_id>/waiting/", policy_views.case_waiting_view, name="case_waiting"),
    path(
        "cases/<int:case_id>/extensions/", policy_views.case_extension_view, name="case_extension"
    ),
    path(
        "cases/<int:case_id>/extensions/<int:extension_id>/decision/",
        policy_views.case_extension_decision_view,
        name="case_extension_decision",
    ),
    path("cases/<int:case_id>/embargo/", policy_views.case_embargo_view, name="case_embargo"),
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
]
