from django.urls import path

from modelcvd.notifications import views

app_name = "notifications"
urlpatterns = [
    path("account/notifications/", views.notification_settings, name="settings"),
]
