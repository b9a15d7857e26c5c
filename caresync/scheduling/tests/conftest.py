from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from caresync.directory.services import (
    location_save,
    patient_create,
    practitioner_profile_create,
    resource_save,
    service_save,
)
from caresync.scheduling.services import appointment_book, availability_rule_save

# Monday 2 March 2026, 00:00 in Sydney (UTC+11): far from holidays and clock changes.
MONDAY = date(2026, 3, 2)
NOW = datetime(2026, 2, 20, tzinfo=UTC)
SYDNEY = ZoneInfo("Australia/Sydney")


def at(hour, minute=0, day=0):
    """Sydney wall time on MONDAY (+ ``day`` days)."""
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day + day, hour, minute, tzinfo=SYDNEY)


def book(clinic, start, practitioner="doctor", patient=None, service=None, **extra):
    """Book through the service as the system, at NOW, with the doctor by default."""
    return appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient or clinic.patient,
        service=service or clinic.consult,
        start=start,
        practitioner=getattr(clinic, practitioner) if practitioner else None,
        now=NOW,
        **extra,
    )


@dataclass
class Clinic:
    tenant: object
    location: object
    doctor: object
    second_doctor: object
    consult: object
    mri: object
    scanner: object
    patient: object
    other_patient: object


def weekday_rules(practitioner, location, start=time(9), end=time(17)):
    for weekday in range(5):
        availability_rule_save(
            actor=None,
            practitioner=practitioner,
            location=location,
            weekday=weekday,
            start_time=start,
            end_time=end,
        )


@pytest.fixture
def clinic(tenant_a):
    org = tenant_a.organization
    location = location_save(
        actor=None, organization=org, name="Main", time_zone="Australia/Sydney"
    )
    doctor = practitioner_profile_create(actor=None, membership=tenant_a.doctor.memberships.get())
    nurse = practitioner_profile_create(actor=None, membership=tenant_a.nurse.memberships.get())
    for practitioner in (doctor, nurse):
        weekday_rules(practitioner, location)
    consult = service_save(
        actor=None,
        organization=org,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        buffer_after_minutes=0,
        min_notice_minutes=60,
        practitioners=[doctor, nurse],
    )
    mri = service_save(
        actor=None,
        organization=org,
        name="MRI",
        category="radiology",
        duration_minutes=45,
        practitioners=[doctor],
        resource_needs=[{"kind": "scanner", "modality": "MR"}],
    )
    scanner = resource_save(
        actor=None, organization=org, location=location, name="MRI 1", kind="scanner", modality="MR"
    )
    patient = patient_create(
        actor=None,
        organization=org,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1985, 12, 10),
    )
    other = patient_create(
        actor=None,
        organization=org,
        given_name="Alan",
        family_name="Turing",
        date_of_birth=date(1954, 6, 23),
    )
    return Clinic(tenant_a, location, doctor, nurse, consult, mri, scanner, patient, other)
