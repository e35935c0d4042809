from django.urls import path

from modelcvd.transparency import views

app_name = "transparency"
urlpatterns = [
    path(".well-known/modelcvd/log-keys.json", views.log_keys, name="log_keys"),
]
