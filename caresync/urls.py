from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from caresync.accounts.signin import SignInView
from caresync.core import views as core_views
from caresync.directory import webhooks as directory_webhooks

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("api/v1/", include("caresync.api_urls")),
    path("api/webhook/patient", directory_webhooks.patient_intake, name="webhook-patient"),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("caresync.accounts.urls")),
    path("", include("caresync.directory.urls")),
    path("", include("caresync.scheduling.urls")),
    path("", include("caresync.records.urls")),
    path("", include("caresync.notifications.urls")),
    path("", include("caresync.core.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("caresync.web.urls")),
]

handler400 = "caresync.core.views.bad_request"
handler403 = "caresync.core.views.permission_denied"
handler404 = "caresync.core.views.page_not_found"
handler500 = "caresync.core.views.server_error"
