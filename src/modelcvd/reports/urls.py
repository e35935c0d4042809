from django.urls import path

from modelcvd.reports import anonymous_views, dedup_views, forensic_views, views

app_name = "reports"
urlpatterns = [
    path("reports/new/", views.report_new, name="new"),
    path("schemas/report/1.0/report.schema.json", views.report_schema, name="schema"),
    path("reports/abstract/", views.report_abstract_new, name="abstract"),
    path("reports/", views.reports_mine, name="mine"),
    path(
        "reports/anonymous/<slug:program>/",
        anonymous_views.report_anonymous,
        name="anonymous",
    ),
    path("follow-up/<str:secret>/", anonymous_views.follow_up, name="follow_up"),
    path("reports/<int:report_id>/", views.report_detail, name="detail"),
    path("reports/<int:report_id>/scope/", views.report_scope_view, name="scope"),
    path("reports/<int:report_id>/payload/", views.report_payload_view, name="payload"),
    path("reports/<int:report_id>/attachments/", views.report_attach, name="attach"),
    path(
        "reports/<int:report_id>/attachments/<int:attachment_id>/",
        views.report_attachment_download,
        name="attachment",
    ),
    path(
        "cases/<int:case_id>/duplicates/<int:duplicate_id>/dismiss/",
        dedup_views.duplicate_dismiss_view,
        name="duplicate_dismiss",
    ),
    path("cases/<int:case_id>/merge/", dedup_views.case_merge_view, name="case_merge"),
    path(
        "artifacts/<int:artifact_id>/forensic-report/",
        forensic_views.artifact_forensic_report,
        name="forensic_report",
    ),
]
