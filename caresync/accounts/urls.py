from django.urls import path

from caresync.accounts import views

urlpatterns = [
    path(
        "account/set-password/<str:uidb64>/<str:token>/",
        views.set_password,
        name="account-set-password",
    ),
    path("account/password-reset/", views.password_reset, name="account-password-reset"),
    path("o/<slug:slug>/register/", views.register, name="account-register"),
]
