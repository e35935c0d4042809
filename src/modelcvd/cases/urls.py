from django.urls import path

from modelcvd.cases import views

app_name = "cases"
urlpatterns = [
    path("triage/", views.queue, name="queue"),
    path("cases/", views.inbox, name="inbox"),
    path("cases/<int:case_id>/", views.case_detail, name="detail"),
    path("cases/<int:case_id>/transition/", views.case_transition_view, name="transition"),
    path("cases/<int:case_id>/comments/", views.case_comment_view, name="comment"),
    path("cases/<int:case_id>/waiting/", views.case_waiting_view, name="waiting"),
    path("cases/<int:case_id>/extensions/", views.case_extension_view, name="extension"),
    path(
        "cases/<int:case_id>/extensions/<int:extension_id>/decision/",
        views.case_extension_decision_view,
        name="extension_decision",
    ),
    path("cases/<int:case_id>/embargo/", views.case_embargo_view, name="embargo"),
    path("cases/<int:case_id>/vendors/", views.case_vendor_notify_view, name="vendor_notify"),
    path(
        "cases/<int:case_id>/vendors/<slug:organisation>/status/",
        views.case_vendor_status_view,
        name="vendor_status",
    ),
]
