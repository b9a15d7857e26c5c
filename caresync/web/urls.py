from django.urls import path

from caresync.web import views

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("organization/switch/", views.organization_switch, name="organization-switch"),
    path("system/", views.system_status, name="system"),
]
