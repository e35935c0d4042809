from django.urls import path

from modelcvd.credits import views

app_name = "credits"
urlpatterns = [
    path("programs/<slug:slug>/hall-of-fame/", views.program_hall_of_fame, name="hall_of_fame"),
    path("credits/", views.my_credits, name="mine"),
    path("credits/<int:credit_id>/respond/", views.credit_respond_view, name="respond"),
    path("bounties/<int:bounty_id>/donation/", views.bounty_donation_view, name="bounty_donation"),
]
