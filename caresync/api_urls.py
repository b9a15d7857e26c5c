"""/api/v1/: the versioned REST API. Apps register viewsets on ``router``."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from django.utils.decorators import method_decorator
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from caresync.accounts import api as accounts_api
from caresync.accounts import oauth_views
from caresync.core import api as core_api
from caresync.directory import api as directory_api
from caresync.notifications import api as notifications_api
from caresync.records import api as records_api
from caresync.records import radiology_api
from caresync.scheduling.api import appointments as appointments_api
from caresync.scheduling.api import availability as availability_api
from caresync.scheduling.api import feeds as feeds_api
from caresync.scheduling.api import series as series_api
from caresync.scheduling.api import slots as slots_api
from caresync.scheduling.api import waitlist as waitlist_api

# Swagger UI and ReDoc set inline styles (and ReDoc runs a blob: worker); only these two
# pages relax the policy, for styles and workers, never for scripts.
docs_csp = method_decorator(
    csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"], "img-src": ["data:"]}),
    name="dispatch",
)
SwaggerView = docs_csp(SpectacularSwaggerSplitView)
RedocView = docs_csp(SpectacularRedocView)

router = DefaultRouter()
router.include_root_view = False
router.register("organizations", accounts_api.OrganizationViewSet, basename="organization")
router.register("members", accounts_api.MemberViewSet, basename="member")
router.register("audit-events", core_api.AuditEventViewSet, basename="audit-event")
router.register("break-glass", core_api.BreakGlassViewSet, basename="break-glass")
router.register("patients", directory_api.PatientViewSet, basename="patient")
router.register("doctors", directory_api.DoctorViewSet, basename="doctor")
router.register("practitioners", directory_api.PractitionerViewSet, basename="practitioner")
router.register("services", directory_api.ServiceViewSet, basename="service")
router.register("locations", directory_api.LocationViewSet, basename="location")
router.register("resources", directory_api.ResourceViewSet, basename="resource")
router.register("webhook-logs", directory_api.WebhookLogViewSet, basename="webhook-log")
router.register("appointments", appointments_api.AppointmentViewSet, basename="appointment")
router.register(
    "appointment-series", series_api.AppointmentSeriesViewSet, basename="appointment-series"
)
router.register(
    "availability-rules", availability_api.AvailabilityRuleViewSet, basename="availability-rule"
)
router.register(
    "availability-exceptions",
    availability_api.AvailabilityExceptionViewSet,
    basename="availability-exception",
)
router.register("closures", availability_api.ClosureViewSet, basename="closure")
router.register("medical-records", records_api.MedicalRecordViewSet, basename="medical-record")
router.register("notes", records_api.ClinicalNoteViewSet, basename="note")
router.register("attachments", records_api.AttachmentViewSet, basename="attachment")
router.register(
    "radiology-reports", radiology_api.RadiologyReportViewSet, basename="radiology-report"
)
router.register(
    "clinical-access-grants",
    records_api.ClinicalAccessGrantViewSet,
    basename="clinical-access-grant",
)
router.register("waitlist", waitlist_api.WaitlistEntryViewSet, basename="waitlist")
router.register("notifications", notifications_api.NotificationViewSet, basename="notification")

auth_urlpatterns = [
    path("token/", oauth_views.TokenView.as_view(), name="oauth-token"),
    path("revoke-token/", oauth_views.RevokeTokenView.as_view(), name="oauth-revoke"),
    path("introspect/", oauth_views.IntrospectTokenView.as_view(), name="oauth-introspect"),
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="oauth-authorize"),
    path("password-reset/", accounts_api.PasswordResetView.as_view(), name="api-password-reset"),
    path("set-password/", accounts_api.SetPasswordView.as_view(), name="api-set-password"),
    path("register/", accounts_api.RegisterView.as_view(), name="api-register"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("auth/", include(auth_urlpatterns)),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("slots/", slots_api.SlotsView.as_view(), name="api-slots"),
    path("holidays/", availability_api.HolidaysView.as_view(), name="api-holidays"),
    path("icd10/", records_api.Icd10SearchView.as_view(), name="icd10-search"),
    path("records/<int:pk>/versions/", records_api.VersionsView.as_view(), name="record-versions"),
    # Seed 002, before the router's patient routes.
    path(
        "patients/<int:pk>/medical-records/",
        records_api.PatientMedicalRecordsView.as_view(),
        name="patient-medical-records",
    ),
    # Seed 002's per-doctor endpoints (and the same for every kind), before the router's
    # doctor and practitioner routes.
    path(
        "doctors/<int:pk>/schedules/",
        availability_api.DoctorSchedulesView.as_view(),
        name="doctor-schedules",
    ),
    path(
        "doctors/<int:pk>/appointments/",
        availability_api.DoctorAppointmentsView.as_view(),
        name="doctor-appointments",
    ),
    path(
        "doctors/<int:pk>/available-slots/",
        availability_api.DoctorAvailableSlotsView.as_view(),
        name="doctor-available-slots",
    ),
    path(
        "practitioners/<int:pk>/schedules/",
        availability_api.PractitionerSchedulesView.as_view(),
        name="practitioner-schedules",
    ),
    path(
        "practitioners/<int:pk>/appointments/",
        availability_api.PractitionerAppointmentsView.as_view(),
        name="practitioner-appointments",
    ),
    path(
        "practitioners/<int:pk>/available-slots/",
        availability_api.PractitionerAvailableSlotsView.as_view(),
        name="practitioner-available-slots",
    ),
    path(
        "practitioners/<int:pk>/calendar-feed/",
        feeds_api.CalendarFeedView.as_view(),
        name="practitioner-calendar-feed",
    ),
    path("", include(router.urls)),
]
