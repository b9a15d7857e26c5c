from django.urls import path

from caresync.accounts import signin, views

urlpatterns = [
    path(
        "account/set-password/<str:uidb64>/<str:token>/",
        views.set_password,
        name="account-set-password",
    ),
    path("account/password-reset/", views.password_reset, name="account-password-reset"),
    path("o/<slug:slug>/register/", views.register, name="account-register"),
    path("account/two-factor/", views.two_factor, name="account-two-factor"),
    path("login/verify/", signin.sign_in_verify, name="login-verify"),
    path("organization/members/", views.members, name="org-members"),
    path("organization/members/invite/", views.member_invite_page, name="org-member-invite"),
    path(
        "organization/members/<int:pk>/deactivate/",
        views.member_deactivate_page,
        name="org-member-deactivate",
    ),
    path("organization/settings/", views.organization_settings, name="org-settings"),
    path(
        "organization/settings/webhook-secret/",
        views.organization_webhook_secret_rotate_page,
        name="org-webhook-secret-rotate",
    ),
    path("platform/organizations/", views.platform_organizations, name="platform-organizations"),
]
