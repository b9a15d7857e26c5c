from django.urls import path

from caresync.directory import views

urlpatterns = [
    path("patients/", views.patients, name="patient-list"),
    path("patients/new/", views.patient_new, name="patient-create"),
    path("patients/export.csv", views.patients_export, name="patient-export"),
    path("patients/import/", views.patients_import, name="patient-import"),
    path("patients/<int:pk>/", views.patient_detail, name="patient-detail"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path(
        "patients/<int:pk>/deactivate/",
        views.patient_deactivate_page,
        name="patient-deactivate",
    ),
    path(
        "patients/<int:pk>/care-team/",
        views.care_team_assign_page,
        name="patient-care-team-assign",
    ),
    path(
        "patients/<int:pk>/care-team/<int:member_pk>/end/",
        views.care_team_end_page,
        name="patient-care-team-end",
    ),
    path("practitioners/", views.practitioners, name="practitioner-list"),
    path("practitioners/new/", views.practitioner_new, name="practitioner-create"),
    path("practitioners/<int:pk>/", views.practitioner_detail, name="practitioner-detail"),
    path("practitioners/<int:pk>/edit/", views.practitioner_edit, name="practitioner-edit"),
    path(
        "practitioners/<int:pk>/deactivate/",
        views.practitioner_deactivate_page,
        name="practitioner-deactivate",
    ),
    path("settings/services/", views.services, name="service-list"),
    path("settings/services/new/", views.service_edit, name="service-create"),
    path("settings/services/<int:pk>/", views.service_edit, name="service-edit"),
    path("settings/locations/", views.locations, name="location-list"),
    path("settings/locations/new/", views.location_edit, name="location-create"),
    path("settings/locations/<int:pk>/", views.location_edit, name="location-edit"),
    path("settings/resources/", views.resources, name="resource-list"),
    path("settings/resources/new/", views.resource_edit, name="resource-create"),
    path("settings/resources/<int:pk>/", views.resource_edit, name="resource-edit"),
    path("organization/webhook-log/", views.webhook_log, name="org-webhook-log"),
]
