from django.contrib.auth import views as auth_views
from django.urls import path

from modelcvd.accounts import token_views, views
from modelcvd.accounts.forms import SignInForm

app_name = "accounts"
urlpatterns = [
    path(
        "signin/",
        auth_views.LoginView.as_view(
            template_name="accounts/signin.html", authentication_form=SignInForm
        ),
        name="signin",
    ),
    path("signin/two-factor/", views.totp_verify, name="totp_verify"),
    path("signin/two-factor/setup/", views.totp_setup, name="totp_setup"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("signout/", auth_views.LogoutView.as_view(), name="signout"),
    path("account/tokens/", token_views.tokens, name="tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        token_views.token_revoke_view,
        name="token_revoke",
    ),
]
