from django.contrib.auth import views as auth_views
from django.urls import path

from modelcvd.accounts import views as accounts_views
from modelcvd.accounts.forms import SignInForm
from modelcvd.artifacts import views as artifacts_views
from modelcvd.assessments import views as assessment_views
from modelcvd.credits import views as credit_views
from modelcvd.metrics import views as metrics_views
from modelcvd.reports import dedup_views
from modelcvd.verification import views as verification_views
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
    path(
        "artifacts/<int:artifact_id>/lineage/",
        artifacts_views.artifact_lineage,
        name="artifact_lineage",
    ),
    path(
        "artifacts/<int:artifact_id>/forensic-report/",
        artifacts_views.artifact_forensic_report,
        name="artifact_forensic_report",
    ),
    path("metrics/", metrics_views.dashboard, name="metrics"),
    path(
        "programs/<slug:slug>/hall-of-fame/",
        credit_views.program_hall_of_fame,
        name="hall_of_fame",
    ),
    path("credits/", credit_views.my_credits, name="credits_mine"),
    path(
        "credits/<int:credit_id>/respond/", credit_views.credit_respond_view, name="credit_respond"
    ),
    path(
        "bounties/<int:bounty_id>/donation/",
        credit_views.bounty_donation_view,
        name="bounty_donation",
    ),
    path("assessments/", assessment_views.assessment_list, name="assessments"),
    path("assessments/compare/", assessment_views.compare, name="assessments_compare"),
    path("assessments/new/", assessment_views.assessment_new, name="assessment_new"),
    path(
        "assessments/<int:assessment_id>/",
        assessment_views.assessment_detail,
        name="assessment",
    ),
    path(
        "assessments/<int:assessment_id>/publish/",
        assessment_views.assessment_publish_view,
        name="assessment_publish",
    ),
    path("cases/<int:case_id>/reverify/", verification_views.reverify_view, name="case_reverify"),
    path(
        "cases/<int:case_id>/fix-opinion/",
        verification_views.fix_opinion_view,
        name="case_fix_opinion",
    ),
    path("cases/<int:case_id>/merge/", dedup_views.case_merge_view, name="case_merge"),
    path(
        "cases/<int:case_id>/duplicates/<int:duplicate_id>/dismiss/",
        dedup_views.duplicate_dismiss_view,
        name="case_duplicate_dismiss",
    ),
]
