from django.urls import path

from caresync.core import views

urlpatterns = [
    path("audit/", views.audit_events, name="audit-events"),
    path("audit/export.csv", views.audit_events_export, name="audit-events-export"),
    path("audit/break-glass/", views.break_glass_page, name="break-glass-review"),
]
