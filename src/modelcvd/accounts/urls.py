from django.contrib.auth import views as auth_views
from django.urls import path

from modelcvd.accounts import signup_views, token_views, views
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
    path("signup/", signup_views.signup, name="signup"),
    path("signup/sent/", signup_views.signup_sent, name="signup_sent"),
    path("signup/verify/<uidb64>/<token>/", signup_views.signup_verify, name="signup_verify"),
    path("signin/password-reset/", signup_views.password_reset, name="password_reset"),
    path(
        "signin/password-reset/sent/",
        signup_views.password_reset_done,
        name="password_reset_done",
    ),
    path(
        "signin/password-reset/<uidb64>/<token>/",
        signup_views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "signin/password-reset/complete/",
        signup_views.password_reset_complete_view,
        name="password_reset_complete",
    ),
    path("signin/two-factor/", views.totp_verify, name="totp_verify"),
    path("signin/two-factor/setup/", views.totp_setup, name="totp_setup"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("signout/", auth_views.LogoutView.as_view(), name="signout"),
    path("account/tokens/", token_views.tokens, name="tokens"),
    path("account/invitations/", signup_views.invitations, name="invitations"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        token_views.token_revoke_view,
        name="token_revoke",
    ),
]
