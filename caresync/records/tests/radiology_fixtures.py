"""A radiology department for the radiology tests: an MRI service, two radiologists, a
referring doctor, and Ada's completed MRI scan."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from caresync.accounts.models import Membership
from caresync.accounts.tests.factories import MembershipFactory
from caresync.directory.services import patient_create, practitioner_profile_create, service_save
from caresync.scheduling.models import Appointment

SCAN_START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@dataclass
class Department:
    tenant: object
    patient: object
    other_patient: object
    radiologist: object
    second_radiologist: object
    referrer: object
    unrelated_doctor: object
    mri: object
    scan: object

    def appointment(self, patient=None, *, start=SCAN_START, status="completed", service=None):
        return Appointment.objects.create(
            organization=self.tenant.organization,
            patient=patient or self.patient,
            practitioner=self.radiologist,
            service=service or self.mri,
            start=start,
            end=start + timedelta(minutes=45),
            status=status,
        )


def ada_and_alan(tenant):
    """The tenant's two patients with portal logins: Ada (``tenant.patient``) and Alan
    (``tenant.other_patient``)."""
    org = tenant.organization
    ada = patient_create(
        actor=None,
        organization=org,
        user=tenant.patient,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1985, 12, 10),
    )
    alan = patient_create(
        actor=None,
        organization=org,
        user=tenant.other_patient,
        given_name="Alan",
        family_name="Turing",
        date_of_birth=date(1954, 6, 23),
    )
    return ada, alan


def _practitioner(organization, kind: str):
    membership = MembershipFactory(
        organization=organization, role=Membership.Role.PRACTITIONER, practitioner_kind=kind
    )
    return practitioner_profile_create(actor=None, membership=membership)


@pytest.fixture
def department(tenant_a):
    org = tenant_a.organization
    org.address = "1 Harbour St, Sydney NSW 2000"
    org.phone = "+61 2 9000 0000"
    org.save()
    patient, other = ada_and_alan(tenant_a)
    referrer = practitioner_profile_create(actor=None, membership=tenant_a.doctor.memberships.get())
    mri = service_save(
        actor=None,
        organization=org,
        name="MRI knee",
        category="radiology",
        duration_minutes=45,
        modality="MR",
    )
    department = Department(
        tenant=tenant_a,
        patient=patient,
        other_patient=other,
        radiologist=_practitioner(org, "radiologist"),
        second_radiologist=_practitioner(org, "radiologist"),
        referrer=referrer,
        unrelated_doctor=_practitioner(org, "doctor"),
        mri=mri,
        scan=None,
    )
    department.scan = department.appointment()
    return department
