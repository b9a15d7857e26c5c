"""The role × action matrix, checked against every API endpoint in the URL conf.

Every DRF endpoint under /api/v1/ must declare a policy for each method it serves, and
have a case below; so a new endpoint without a policy (or without a case) fails here.
Each case runs for every role in its own organization and against a foreign one.
"""

import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from caresync.accounts.api import PublicEndpoint
from caresync.accounts.permissions import policy_for
from caresync.core.policy import (
    RULES,
    _clinical_author,
    _clinical_author_or_admin,
    _own_schedule,
    _radiology_attacher,
    _radiology_reporter,
)
from caresync.directory.tests.test_patient_photo import png_bytes

pytestmark = pytest.mark.django_db

# Endpoints open to anyone: documentation, OAuth protocol endpoints, public account forms.
PUBLIC_NAMES = {
    "api-schema",
    "api-docs",
    "api-redoc",
    "oauth-token",
    "oauth-revoke",
    "oauth-introspect",
    "oauth-authorize",
    "api-password-reset",
    "api-set-password",
    "api-register",
}


def api_endpoints():
    """(url name, route, view class, {method: action}) for every DRF endpoint in /api/v1/."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                cls = getattr(entry.callback, "cls", None)
                if route.startswith("api/v1/") and entry.name:
                    actions = getattr(entry.callback, "actions", None)
                    found.append((entry.name, route, cls, actions))

    walk(get_resolver().url_patterns, "")
    return found


def member_id(tenant):
    return tenant.nurse.memberships.get().pk


def audit_id(tenant):
    from caresync.core.audit import audit_record

    return audit_record(actor=tenant.admin, action="read", organization=tenant.organization).pk


def break_glass_id(tenant):
    from caresync.core.break_glass import break_glass_open
    from caresync.core.policy import Actor

    actor = Actor(
        user=tenant.doctor,
        organization=tenant.organization,
        roles=frozenset({"user", "practitioner"}),
    )
    return break_glass_open(actor=actor, patient_id="42", reason="Unconscious in ED").pk


def directory(tenant):
    """One of each directory object in the tenant (made once per tenant and test)."""
    cached = getattr(tenant, "_directory", None)
    if cached:
        return cached
    from datetime import UTC, date, datetime, time

    from caresync.directory.services import (
        location_save,
        patient_create,
        practitioner_profile_create,
        resource_save,
        service_save,
    )

    org = tenant.organization
    location = location_save(actor=None, organization=org, name="Main", time_zone="UTC")
    doctor = practitioner_profile_create(actor=None, membership=tenant.doctor.memberships.get())
    cached = {
        "location": location,
        "resource": resource_save(
            actor=None, organization=org, location=location, name="Room 1", kind="room"
        ),
        "service": service_save(
            actor=None, organization=org, name="Consult", category="in_person", duration_minutes=15
        ),
        "doctor": doctor,
        "patient": patient_create(
            actor=None,
            organization=org,
            user=tenant.patient,
            given_name="Pat",
            family_name="Own",
            date_of_birth=date(1980, 1, 2),
        ),
    }
    from caresync.directory.services import patient_photo_set, practitioner_photo_set

    practitioner_photo_set(
        actor=None, practitioner=doctor, upload=SimpleUploadedFile("d.png", png_bytes())
    )
    patient_photo_set(
        actor=None, patient=cached["patient"], upload=SimpleUploadedFile("p.png", png_bytes())
    )
    from caresync.scheduling.models import AvailabilityRule
    from caresync.scheduling.services import appointment_book

    service = cached["service"]
    service.practitioners.set([doctor])
    service.min_notice_minutes = 0
    service.booking_horizon_days = 3650
    service.save()
    for weekday in range(5):
        AvailabilityRule.objects.create(
            organization=org,
            practitioner=doctor,
            location=location,
            weekday=weekday,
            start_time=time(0),
            end_time=time(23),
        )
    cached["appointment"] = appointment_book(
        actor=None,
        organization=org,
        patient=cached["patient"],
        service=service,
        start=datetime(2030, 3, 4, 9, tzinfo=UTC),
        practitioner=doctor,
    )
    tenant._directory = cached
    return cached


def pk(tenant, name):
    return directory(tenant)[name].pk


def schedule_pk(tenant, name):
    """The tenant doctor's weekly rule or exception, or the organization's closure."""
    cached = getattr(tenant, "_schedule", None)
    if cached is None:
        from datetime import UTC, date, datetime

        from caresync.scheduling.services import availability_exception_save, closure_save

        doctor = directory(tenant)["doctor"]
        cached = {
            "rule": doctor.availability_rules.order_by("weekday").first(),
            "exception": availability_exception_save(
                actor=None,
                practitioner=doctor,
                kind="time_off",
                start=datetime(2030, 3, 5, 9, tzinfo=UTC),
                end=datetime(2030, 3, 5, 10, tzinfo=UTC),
            ),
            "closure": closure_save(
                actor=None,
                organization=tenant.organization,
                start_date=date(2030, 12, 30),
                reason="Matrix",
            ),
        }
        tenant._schedule = cached
    return cached[name].pk


def schedule_case(route: str, name: str, body: dict | None):
    """``/api/v1/<route>/<id>/`` of the tenant's rule, exception or closure."""

    def case(tenant):
        payload = dict(body) if body else body
        if payload and "practitioner" in payload:
            payload["practitioner"] = pk(tenant, "doctor")
        if payload and "location" in payload:
            payload["location"] = pk(tenant, "location")
        return f"/api/v1/{route}/{schedule_pk(tenant, name)}/", payload

    return case


RULE_BODY = {
    "practitioner": None,
    "location": None,
    "weekday": 0,
    "start_time": "08:00",
    "end_time": "20:00",
}
EXCEPTION_BODY = {
    "practitioner": None,
    "kind": "time_off",
    "start": "2030-03-06T09:00:00+00:00",
    "end": "2030-03-06T11:00:00+00:00",
    "reason": "Matrix",
}
CLOSURE_BODY = {"start_date": "2030-12-31", "reason": "Matrix"}
SCHEDULE_BODIES = {  # route → (object, PUT body, PATCH body)
    "availability-rule": ("rule", RULE_BODY, {"end_time": "22:00"}),
    "availability-exception": ("exception", EXCEPTION_BODY, {"reason": "Matrix"}),
    "closure": ("closure", CLOSURE_BODY, {"reason": "Matrix"}),
}


def practitioner_schedule_case(kind: str, suffix: str):
    """``/api/v1/doctors|practitioners/<doctor>/schedules|appointments|available-slots/``."""

    def case(tenant):
        path = f"/api/v1/{kind}s/{pk(tenant, 'doctor')}/{suffix}/"
        if suffix == "available-slots":
            path += f"?date=2030-03-04&service={pk(tenant, 'service')}"
        return path, None

    return case


def detail_case(route: str, object_name: str, body: dict | None):
    """A case calling ``/api/v1/<route>s/<id of the tenant's object>/`` with ``body``."""

    def case(tenant):
        payload = body
        if payload and "location" in payload:
            payload = {**payload, "location": pk(tenant, "location")}
        return f"/api/v1/{route}s/{pk(tenant, object_name)}/", payload

    return case


def webhook_log_id(tenant):
    from caresync.directory.services import webhook_log_record

    return webhook_log_record(
        organization=tenant.organization, status_code=401, outcome="invalid_signature"
    ).pk


def photo_case(route: str, method: str):
    def case(tenant):
        body = (
            Multipart(photo=SimpleUploadedFile("p.png", png_bytes())) if method == "PUT" else None
        )
        return f"/api/v1/{route}s/{pk(tenant, 'doctor')}/photo/", body

    return case


def list_case(route: str, suffix: str = ""):
    return lambda tenant: (f"/api/v1/{route}s/{suffix}", None)


def appointment_action_case(name: str):
    path = name.replace("_", "-")
    return lambda tenant: (
        f"/api/v1/appointments/{pk(tenant, 'appointment')}/{path}/",
        {"reason": "Matrix check"},
    )


def series_id(tenant):
    """A three-week series for the tenant's own patient (made once per tenant and test)."""
    cached = getattr(tenant, "_series_id", None)
    if cached:
        return cached
    from datetime import UTC, datetime

    from caresync.scheduling.services import appointment_series_book

    tenant._series_id = appointment_series_book(
        actor=None,
        organization=tenant.organization,
        patient=directory(tenant)["patient"],
        practitioner=directory(tenant)["doctor"],
        service=directory(tenant)["service"],
        first_start=datetime(2030, 4, 1, 9, tzinfo=UTC),
        rrule="FREQ=WEEKLY;COUNT=3",
    ).pk
    return tenant._series_id


def series_body(tenant):
    return {
        "patient": pk(tenant, "patient"),
        "practitioner": pk(tenant, "doctor"),
        "service": pk(tenant, "service"),
        "first_start": "2030-05-06T10:00:00Z",
        "rrule": "FREQ=WEEKLY;COUNT=2",
    }


def waitlist_case(tenant):
    """The tenant's own patient waiting for the service, offered Wed 6 Mar 2030 09:00 with
    the doctor: (entry id, claim token). Made once per tenant and test."""
    cached = getattr(tenant, "_waitlist", None)
    if cached:
        return cached
    from datetime import UTC, datetime

    from caresync.scheduling.services import waitlist_join, waitlist_offer_freed_slot
    from caresync.scheduling.waitlist_selectors import waitlist_offer_token

    entry = waitlist_join(
        actor=None,
        organization=tenant.organization,
        patient=directory(tenant)["patient"],
        service=directory(tenant)["service"],
    )
    (offer,) = waitlist_offer_freed_slot(
        practitioner_id=pk(tenant, "doctor"),
        start=datetime(2030, 3, 6, 9, tzinfo=UTC),
        end=datetime(2030, 3, 6, 9, 15, tzinfo=UTC),
    )
    tenant._waitlist = (entry.pk, waitlist_offer_token(offer))
    return tenant._waitlist


def clinical(tenant):
    """The tenant's clinical content (made once per tenant and test): the nurse on the own
    patient's care team, a staff read grant, and the doctor's signed record and note with a
    PDF on the record."""
    cached = getattr(tenant, "_clinical", None)
    if cached:
        return cached
    from caresync.directory.services import care_team_assign, practitioner_profile_create
    from caresync.records.services import (
        attachment_upload,
        clinical_access_grant,
        clinical_note_create,
        medical_record_create,
    )

    patient = directory(tenant)["patient"]
    doctor = directory(tenant)["doctor"]
    nurse = practitioner_profile_create(actor=None, membership=tenant.nurse.memberships.get())
    care_team_assign(actor=None, patient=patient, practitioner=nurse, role="primary_nurse")
    record = medical_record_create(
        actor=tenant.doctor,
        patient=patient,
        practitioner=doctor,
        diagnosis_code="J45.9",
        treatment="Inhaled salbutamol as needed",
        finalize=True,
    )
    cached = {
        "grant": clinical_access_grant(
            actor=tenant.admin,
            organization=tenant.organization,
            user=tenant.staff,
            reason="Matrix audit work",
        ),
        "record": record,
        "note": clinical_note_create(
            actor=tenant.doctor, patient=patient, author=doctor, body="<p>Reviewed.</p>"
        ),
        "attachment": attachment_upload(
            actor=tenant.doctor,
            patient=patient,
            record=record,
            upload=SimpleUploadedFile("spirometry.pdf", PDF_BYTES),
        ),
    }
    tenant._clinical = cached
    return cached


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def radiology(tenant):
    """The tenant's radiology: an X-ray service, two X-rays of the own patient done by the
    doctor, the first reported (completed and released) by the doctor."""
    cached = getattr(tenant, "_radiology", None)
    if cached:
        return cached
    from datetime import UTC, datetime, timedelta

    from caresync.directory.services import service_save
    from caresync.records.radiology import (
        radiology_report_complete,
        radiology_report_create,
        radiology_report_start,
    )
    from caresync.scheduling.models import Appointment

    patient, doctor = directory(tenant)["patient"], directory(tenant)["doctor"]
    clinical(tenant)  # the nurse on the patient's care team
    xray = service_save(
        actor=None,
        organization=tenant.organization,
        name="Chest X-ray",
        category="radiology",
        duration_minutes=15,
        modality="XR",
    )
    scans = []
    for day in (2, 3):
        start = datetime(2026, 3, day, 9, tzinfo=UTC)
        scans.append(
            Appointment.objects.create(
                organization=tenant.organization,
                patient=patient,
                practitioner=doctor,
                service=xray,
                start=start,
                end=start + timedelta(minutes=15),
                status=Appointment.Status.COMPLETED,
            )
        )
    report = radiology_report_create(actor=tenant.doctor, appointment=scans[0])
    report = radiology_report_start(actor=tenant.doctor, report=report, radiologist=doctor)
    report = radiology_report_complete(
        actor=tenant.doctor,
        report=report,
        radiologist=doctor,
        findings="Clear lungs.",
        impression="Normal chest.",
    )
    tenant._radiology = cached = {"report": report, "unreported": scans[1]}
    return cached


def radiology_case(suffix: str = "", body=None):
    def case(tenant):
        return f"/api/v1/radiology-reports/{radiology(tenant)['report'].pk}/{suffix}", body

    return case


def clinical_case(route: str, name: str, body=None, suffix: str = ""):
    """``/api/v1/<route>/<id of the tenant's record, note, attachment or grant>/<suffix>``."""

    def case(tenant):
        return f"/api/v1/{route}/{clinical(tenant)[name].pk}/{suffix}", body

    return case


RECORD_BODY = {"diagnosis_code": "J45.9", "treatment": "Montelukast", "reason": "Matrix edit"}
NOTE_BODY = {"body": "<p>Amended.</p>", "reason": "Matrix edit"}
RETRACT_BODY = {"reason": "Matrix retraction"}


PATIENT_BODY = {"given_name": "Casey", "family_name": "Matrix", "date_of_birth": "1990-05-06"}


# (url name, method) → how to call it for a tenant: returns (path, body).
CASES = {
    ("api-me", "GET"): lambda t: ("/api/v1/me/", None),
    ("api-me", "PATCH"): lambda t: ("/api/v1/me/", {"first_name": "Renamed"}),
    ("organization-list", "GET"): lambda t: ("/api/v1/organizations/", None),
    ("organization-list", "POST"): lambda t: (
        "/api/v1/organizations/",
        {
            "name": "New",
            "slug": f"new-{t.organization.slug}",
            "time_zone": "UTC",
            "country": "AU",
            "admin_email": f"first@{t.organization.slug}.test",
        },
    ),
    ("organization-detail", "GET"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/",
        None,
    ),
    ("organization-detail", "PATCH"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/",
        {"phone": "+61 2 0000 0000"},
    ),
    ("member-list", "GET"): lambda t: ("/api/v1/members/", None),
    ("member-list", "POST"): lambda t: (
        "/api/v1/members/",
        {"email": f"invitee@{t.organization.slug}.test", "role": "staff"},
    ),
    ("member-detail", "GET"): lambda t: (f"/api/v1/members/{member_id(t)}/", None),
    ("member-deactivate", "POST"): lambda t: (f"/api/v1/members/{member_id(t)}/deactivate/", None),
    ("audit-event-list", "GET"): lambda t: ("/api/v1/audit-events/", None),
    ("audit-event-detail", "GET"): lambda t: (f"/api/v1/audit-events/{audit_id(t)}/", None),
    ("audit-event-export", "GET"): lambda t: ("/api/v1/audit-events/export/", None),
    ("patient-list", "GET"): lambda t: ("/api/v1/patients/", None),
    ("patient-list", "POST"): lambda t: ("/api/v1/patients/", PATIENT_BODY),
    ("patient-detail", "GET"): lambda t: (f"/api/v1/patients/{pk(t, 'patient')}/", None),
    ("patient-detail", "PUT"): lambda t: (f"/api/v1/patients/{pk(t, 'patient')}/", PATIENT_BODY),
    ("patient-detail", "PATCH"): lambda t: (
        f"/api/v1/patients/{pk(t, 'patient')}/",
        {"phone": "+61 400 000 000"},
    ),
    ("patient-detail", "DELETE"): lambda t: (f"/api/v1/patients/{pk(t, 'patient')}/", None),
    ("patient-care-team", "GET"): lambda t: (
        f"/api/v1/patients/{pk(t, 'patient')}/care-team/",
        None,
    ),
    ("patient-photo", "GET"): lambda t: (f"/api/v1/patients/{pk(t, 'patient')}/photo/", None),
    ("patient-photo", "PUT"): lambda t: (
        f"/api/v1/patients/{pk(t, 'patient')}/photo/",
        Multipart(photo=SimpleUploadedFile("p.png", png_bytes())),
    ),
    **{
        (f"{kind}-photo", method): photo_case(kind, method)
        for kind in ("doctor", "practitioner")
        for method in ("GET", "PUT")
    },
    ("patient-break-glass", "POST"): lambda t: (
        f"/api/v1/patients/{pk(t, 'patient')}/break-glass/",
        {"reason": "Unconscious in the emergency department"},
    ),
    ("patient-care-team", "POST"): lambda t: (
        f"/api/v1/patients/{pk(t, 'patient')}/care-team/",
        {"practitioner": pk(t, "doctor"), "role": "primary_doctor"},
    ),
    **{
        (f"{kind}-list", "GET"): list_case(kind)
        for kind in ("doctor", "practitioner", "service", "location", "resource")
    },
    ("doctor-list", "POST"): lambda t: (
        "/api/v1/doctors/",
        {"email": f"dr.new@{t.organization.slug}.test", "first_name": "New", "last_name": "Doc"},
    ),
    ("practitioner-list", "POST"): lambda t: (
        "/api/v1/practitioners/",
        {
            "email": f"rn.new@{t.organization.slug}.test",
            "first_name": "New",
            "last_name": "Nurse",
            "kind": "nurse",
        },
    ),
    **{
        (f"{kind}-detail", method): detail_case(
            kind, "doctor", {"specialization": "Cardiology"} if method in ("PUT", "PATCH") else None
        )
        for kind in ("doctor", "practitioner")
        for method in ("GET", "PUT", "PATCH", "DELETE")
    },
    ("service-list", "POST"): lambda t: (
        "/api/v1/services/",
        {"name": "Dressing", "category": "in_person", "duration_minutes": 20},
    ),
    ("location-list", "POST"): lambda t: (
        "/api/v1/locations/",
        {"name": "Branch", "time_zone": "Australia/Sydney"},
    ),
    ("resource-list", "POST"): lambda t: (
        "/api/v1/resources/",
        {"name": "Room 9", "kind": "room", "location": pk(t, "location")},
    ),
    **{
        (f"{kind}-detail", method): detail_case(kind, kind, body if method != "GET" else None)
        for kind, body in (
            ("service", {"name": "Consult", "category": "in_person", "duration_minutes": 30}),
            ("location", {"name": "Main", "time_zone": "UTC"}),
            ("resource", {"name": "Room 1", "kind": "room", "location": None}),
        )
        for method in ("GET", "PUT", "PATCH")
    },
    ("webhook-log-list", "GET"): lambda t: ("/api/v1/webhook-logs/", None),
    ("webhook-log-detail", "GET"): lambda t: (f"/api/v1/webhook-logs/{webhook_log_id(t)}/", None),
    ("organization-webhook-secret", "GET"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/webhook-secret/",
        None,
    ),
    ("organization-webhook-secret", "POST"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/webhook-secret/",
        None,
    ),
    **{
        ("practitioner-calendar-feed", method): lambda t: (
            f"/api/v1/practitioners/{pk(t, 'doctor')}/calendar-feed/",
            None,
        )
        for method in ("GET", "POST", "DELETE")
    },
    ("api-slots", "GET"): lambda t: (
        f"/api/v1/slots/?service={pk(t, 'service')}&start=2026-03-02T00:00:00%2B11:00"
        f"&end=2026-03-03T00:00:00%2B11:00",
        None,
    ),
    ("appointment-list", "GET"): lambda t: ("/api/v1/appointments/", None),
    ("appointment-list", "POST"): lambda t: (
        "/api/v1/appointments/",
        {
            "patient": pk(t, "patient"),
            "service": pk(t, "service"),
            "start": "2026-03-02T11:00:00+11:00",
        },
    ),
    ("appointment-detail", "GET"): lambda t: (
        f"/api/v1/appointments/{pk(t, 'appointment')}/",
        None,
    ),
    ("appointment-detail", "DELETE"): lambda t: (
        f"/api/v1/appointments/{pk(t, 'appointment')}/",
        {"reason": "Matrix"},
    ),
    ("appointment-detail", "PUT"): lambda t: (
        f"/api/v1/appointments/{pk(t, 'appointment')}/",
        {"start": "2026-03-02T13:00:00+11:00", "notes": "Matrix"},
    ),
    ("appointment-detail", "PATCH"): lambda t: (
        f"/api/v1/appointments/{pk(t, 'appointment')}/",
        {"notes": "Matrix"},
    ),
    **{
        (f"appointment-{name}", "POST"): lambda t, name=name: (
            f"/api/v1/appointments/{pk(t, 'appointment')}/{name}/",
            {"start": "2026-03-02T14:00:00+11:00"},
        )
        for name in ("reschedule", "propose")
    },
    **{
        (f"appointment-{name}", "GET"): list_case("appointment", suffix=f"{name}/")
        for name in ("upcoming", "past", "today", "analytics")
    },
    **{
        (f"appointment-{name.replace('_', '-')}", "POST"): appointment_action_case(name)
        for name in (
            "confirm",
            "complete",
            "cancel",
            "approve",
            "reject",
            "check_in",
            "start",
            "no_show",
            "accept_proposal",
            "decline_proposal",
        )
    },
    **{
        (f"{kind}-list", "GET"): list_case(kind)
        for kind in ("availability-rule", "availability-exception", "closure")
    },
    ("availability-rule-list", "POST"): lambda t: (
        "/api/v1/availability-rules/",
        {**RULE_BODY, "practitioner": pk(t, "doctor"), "location": pk(t, "location"), "weekday": 5},
    ),
    ("availability-exception-list", "POST"): lambda t: (
        "/api/v1/availability-exceptions/",
        {**EXCEPTION_BODY, "practitioner": pk(t, "doctor")},
    ),
    ("closure-list", "POST"): lambda t: ("/api/v1/closures/", CLOSURE_BODY),
    **{
        (f"{kind}-detail", method): schedule_case(
            f"{kind}s", name, {"PUT": put, "PATCH": patch}.get(method)
        )
        for kind, (name, put, patch) in SCHEDULE_BODIES.items()
        for method in ("GET", "PUT", "PATCH", "DELETE")
    },
    **{
        (f"{kind}-{suffix}", "GET"): practitioner_schedule_case(kind, suffix)
        for kind in ("doctor", "practitioner")
        for suffix in ("schedules", "appointments", "available-slots")
    },
    ("api-holidays", "GET"): lambda t: ("/api/v1/holidays/?start=2030-01-01&end=2030-12-31", None),
    ("appointment-series-list", "GET"): lambda t: ("/api/v1/appointment-series/", None),
    ("appointment-series-list", "POST"): lambda t: ("/api/v1/appointment-series/", series_body(t)),
    ("appointment-series-preview", "POST"): lambda t: (
        "/api/v1/appointment-series/preview/",
        series_body(t),
    ),
    ("appointment-series-detail", "GET"): lambda t: (
        f"/api/v1/appointment-series/{series_id(t)}/",
        None,
    ),
    ("appointment-series-cancel", "POST"): lambda t: (
        f"/api/v1/appointment-series/{series_id(t)}/cancel/",
        {"reason": "Matrix check"},
    ),
    ("appointment-series-reschedule", "POST"): lambda t: (
        f"/api/v1/appointment-series/{series_id(t)}/reschedule/",
        {"time": "11:00", "reason": "Matrix check"},
    ),
    ("medical-record-list", "GET"): lambda t: ("/api/v1/medical-records/", None),
    ("medical-record-list", "POST"): lambda t: (
        "/api/v1/medical-records/",
        {"patient": clinical(t)["record"].patient_id, "diagnosis_code": "J45.9"},
    ),
    **{
        ("medical-record-detail", method): clinical_case("medical-records", "record", body)
        for method, body in (
            ("GET", None),
            ("PUT", RECORD_BODY),
            ("PATCH", RECORD_BODY),
            ("DELETE", RETRACT_BODY),
        )
    },
    ("medical-record-finalize", "POST"): clinical_case(
        "medical-records", "record", suffix="finalize/"
    ),
    ("record-versions", "GET"): clinical_case("records", "record", suffix="versions/"),
    ("patient-medical-records", "GET"): lambda t: (
        f"/api/v1/patients/{clinical(t)['record'].patient_id}/medical-records/",
        None,
    ),
    ("note-list", "GET"): lambda t: ("/api/v1/notes/", None),
    ("note-list", "POST"): lambda t: (
        "/api/v1/notes/",
        {"patient": clinical(t)["note"].patient_id, "body": "Called back."},
    ),
    **{
        ("note-detail", method): clinical_case("notes", "note", body)
        for method, body in (
            ("GET", None),
            ("PUT", NOTE_BODY),
            ("PATCH", NOTE_BODY),
            ("DELETE", RETRACT_BODY),
        )
    },
    ("note-sign", "POST"): clinical_case("notes", "note", suffix="sign/"),
    ("note-pin", "POST"): clinical_case("notes", "note", {"pinned": True}, suffix="pin/"),
    ("note-versions", "GET"): clinical_case("notes", "note", suffix="versions/"),
    ("attachment-list", "GET"): lambda t: ("/api/v1/attachments/", None),
    ("attachment-list", "POST"): lambda t: (
        "/api/v1/attachments/",
        Multipart(
            file=SimpleUploadedFile("scan.pdf", PDF_BYTES),
            patient=clinical(t)["record"].patient_id,
        ),
    ),
    ("attachment-detail", "GET"): clinical_case("attachments", "attachment"),
    ("attachment-detail", "DELETE"): clinical_case("attachments", "attachment", RETRACT_BODY),
    ("attachment-download", "GET"): clinical_case("attachments", "attachment", suffix="download/"),
    ("radiology-report-list", "GET"): lambda t: ("/api/v1/radiology-reports/", None),
    ("radiology-report-list", "POST"): lambda t: (
        "/api/v1/radiology-reports/",
        {"appointment": radiology(t)["unreported"].pk},
    ),
    ("radiology-report-detail", "GET"): radiology_case(),
    ("radiology-report-detail", "PATCH"): radiology_case(body={"findings": "Draft"}),
    ("radiology-report-start", "POST"): radiology_case("start/"),
    ("radiology-report-complete", "POST"): radiology_case("complete/", {}),
    ("radiology-report-review", "POST"): radiology_case("review/"),
    ("radiology-report-amend", "POST"): radiology_case(
        "amend/", {"impression": "Normal chest, no effusion.", "reason": "Matrix amendment"}
    ),
    ("radiology-report-pdf", "GET"): radiology_case("pdf/"),
    ("radiology-report-attachments", "POST"): lambda t: (
        f"/api/v1/radiology-reports/{radiology(t)['report'].pk}/attachments/",
        Multipart(file=SimpleUploadedFile("scout.png", png_bytes())),
    ),
    ("icd10-search", "GET"): lambda t: ("/api/v1/icd10/?q=asthma", None),
    ("clinical-access-grant-list", "GET"): lambda t: ("/api/v1/clinical-access-grants/", None),
    ("clinical-access-grant-list", "POST"): lambda t: (
        "/api/v1/clinical-access-grants/",
        {"user": t.staff.pk, "reason": "Coding audit for March", "days": 3},
    ),
    ("clinical-access-grant-detail", "GET"): clinical_case("clinical-access-grants", "grant"),
    ("clinical-access-grant-revoke", "POST"): clinical_case(
        "clinical-access-grants", "grant", suffix="revoke/"
    ),
    ("break-glass-list", "GET"): lambda t: ("/api/v1/break-glass/", None),
    ("break-glass-detail", "GET"): lambda t: (f"/api/v1/break-glass/{break_glass_id(t)}/", None),
    ("break-glass-review", "POST"): lambda t: (
        f"/api/v1/break-glass/{break_glass_id(t)}/review/",
        {"note": "Checked with the ED."},
    ),
    ("waitlist-list", "GET"): lambda t: ("/api/v1/waitlist/", None),
    ("waitlist-list", "POST"): lambda t: (
        "/api/v1/waitlist/",
        {"patient": pk(t, "patient"), "service": pk(t, "service"), "preferred_times": ["morning"]},
    ),
    ("waitlist-detail", "GET"): lambda t: (f"/api/v1/waitlist/{waitlist_case(t)[0]}/", None),
    ("waitlist-detail", "DELETE"): lambda t: (
        f"/api/v1/waitlist/{waitlist_case(t)[0]}/",
        {"reason": "Matrix check"},
    ),
    ("waitlist-offers", "GET"): lambda t: (f"/api/v1/waitlist/{waitlist_case(t)[0]}/offers/", None),
    ("waitlist-offer-claim", "POST"): lambda t: (
        "/api/v1/waitlist/offers/claim/",
        {"token": waitlist_case(t)[1]},
    ),
    ("notification-list", "GET"): lambda t: ("/api/v1/notifications/", None),
    ("notification-read", "POST"): lambda t: ("/api/v1/notifications/read/", {"all": True}),
    ("notification-read-one", "POST"): lambda t: ("/api/v1/notifications/1/read/", None),
}

NURSE_NOT_OWNER = (
    _own_schedule,
    _clinical_author,
    _clinical_author_or_admin,
    _radiology_reporter,
    _radiology_attacher,
)

ROLE_USERS = {  # role label → (attribute of the tenant fixture or None, policy roles held)
    "org_admin": ("admin", {"user", "org_admin"}),
    "doctor": ("doctor", {"user", "practitioner"}),
    "nurse": ("nurse", {"user", "practitioner"}),
    "staff": ("staff", {"user", "staff"}),
    "patient": ("patient", {"user", "patient"}),
    "platform_admin": (None, {"user", "platform_admin"}),
}


def served_methods(cls, actions):
    if actions:
        return {
            method.upper(): action
            for method, action in actions.items()
            if method not in ("head", "options") and method in cls.http_method_names
        }
    return {m.upper(): None for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}


def all_cases():
    cases, seen = [], set()
    for name, route, cls, actions in api_endpoints():
        if name in PUBLIC_NAMES or cls is None:
            continue
        for method in served_methods(cls, actions):
            if (name, method) not in seen:  # format-suffix routes repeat the same endpoint
                seen.add((name, method))
                cases.append((name, route, cls, actions, method))
    return cases


def test_every_api_endpoint_declares_a_policy_and_has_a_matrix_case():
    missing_policy, missing_case = [], []
    for name, route, cls, actions, method in all_cases():
        view = cls()
        view.action = (actions or {}).get(method.lower())
        try:
            permission = policy_for(view, method)
        except LookupError:
            missing_policy.append(f"{method} {route}")
            continue
        assert permission in RULES, f"{method} {route} names unknown permission {permission}"
        if (name, method) not in CASES:
            missing_case.append(f"{method} {route} ({name})")
    assert missing_policy == [], "endpoints without a policy"
    assert missing_case == [], "endpoints without a case in the access matrix test"


def test_public_endpoints_are_exactly_the_listed_ones():
    public = {
        name
        for name, _, cls, _ in api_endpoints()
        if cls is None
        or any(p is PublicEndpoint for p in getattr(cls, "permission_classes", []))
        or name in PUBLIC_NAMES
    }
    schema_views = {"api-schema", "api-docs", "api-redoc"}
    oauth_views = {"oauth-token", "oauth-revoke", "oauth-introspect", "oauth-authorize"}
    assert public - schema_views - oauth_views == PUBLIC_NAMES - schema_views - oauth_views


def test_docs_access_control_matches_the_policy():
    out = io.StringIO()
    call_command("access_matrix", stdout=out)
    document = (settings.BASE_DIR / "docs" / "access-control.md").read_text()
    assert document == out.getvalue(), (
        "regenerate: manage.py access_matrix > docs/access-control.md"
    )


MATRIX = [(name, method, role) for name, _, _, _, method in all_cases() for role in ROLE_USERS]


@pytest.mark.parametrize(("name", "method", "role"), MATRIX)
def test_role_matrix_in_own_and_foreign_organization(
    name, method, role, tenant_a, tenant_b, platform_admin, api_client
):
    attribute, held = ROLE_USERS[role]
    user = platform_admin if attribute is None else getattr(tenant_a, attribute)
    route_cls = next(cls for n, _, cls, _ in api_endpoints() if n == name)
    actions = next(a for n, _, _, a in api_endpoints() if n == name)
    view = route_cls()
    view.action = (actions or {}).get(method.lower())
    rule = RULES[policy_for(view, method)]
    allowed = bool(rule.roles & held)
    # Own-schedule and authorship rules: the cases act on the doctor's schedule, record,
    # note or file, so the nurse holds the role but not the object and is refused (in a
    # foreign organization: 404 as usual).
    not_owner = role == "nurse" and rule.check in NURSE_NOT_OWNER
    api_client.force_authenticate(user=user)
    headers = {"HTTP_X_ORGANIZATION": tenant_a.organization.slug} if attribute is None else {}

    own_path, body = CASES[(name, method)](tenant_a)
    response = call(api_client, method, own_path, body, **headers)
    if allowed and not not_owner:
        # Allowed means not refused: a state rule may still answer 400/409 (e.g. completing
        # an appointment that has not started), never 401/403/404.
        assert response.status_code not in (401, 403, 404), (
            role,
            method,
            own_path,
            response.content,
        )
        assert response.status_code < 500
    else:
        assert response.status_code == 403, (role, method, own_path, response.status_code)
        assert response.json()["error"]["code"] == "permission_denied"

    foreign_path, body = CASES[(name, method)](tenant_b)
    if foreign_path != own_path and attribute is not None:
        response = call(api_client, method, foreign_path, body)
        expected = 404 if allowed else 403
        assert response.status_code == expected, (role, method, foreign_path, response.content)


def test_anonymous_callers_get_401_everywhere(api_client, tenant_a):
    for name, _, _, _, method in all_cases():
        path, body = CASES[(name, method)](tenant_a)
        response = call(api_client, method, path, body)
        assert response.status_code == 401, (method, path)


class Multipart(dict):
    """A case body sent as multipart/form-data (file uploads)."""


def call(client, method: str, path: str, body, **headers):
    if isinstance(body, Multipart):
        return getattr(client, method.lower())(path, dict(body), format="multipart", **headers)
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, path, data=data, content_type="application/json", **headers)
