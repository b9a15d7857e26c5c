import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from caresync.accounts.models import Membership
from caresync.accounts.tests.factories import MembershipFactory
from caresync.directory.services import (
    care_team_assign,
    practitioner_profile_create,
    service_save,
)
from caresync.scheduling.models import Appointment

PDF_BYTES = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n"
DICOM_BYTES = b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"\0" * 64


def image_bytes(fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 40, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Chart:
    tenant: object
    patient: object
    other_patient: object
    doctor: object
    nurse: object
    stranger: object
    stranger_user: object
    service: object
    visit: object


@pytest.fixture
def chart(tenant_a):
    """Ada (with a portal login: tenant_a.patient) in the care of the doctor (a visit) and
    the nurse (primary nurse); a second doctor with no relationship to her."""
    org = tenant_a.organization
    patient, other = ada_and_alan(tenant_a)
    doctor = practitioner_profile_create(actor=None, membership=tenant_a.doctor.memberships.get())
    nurse = practitioner_profile_create(actor=None, membership=tenant_a.nurse.memberships.get())
    stranger_membership = MembershipFactory(
        organization=org, role=Membership.Role.PRACTITIONER, practitioner_kind="doctor"
    )
    stranger = practitioner_profile_create(actor=None, membership=stranger_membership)
    care_team_assign(actor=None, patient=patient, practitioner=nurse, role="primary_nurse")
    service = service_save(
        actor=None, organization=org, name="Consult", category="in_person", duration_minutes=30
    )
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    visit = Appointment.objects.create(
        organization=org,
        patient=patient,
        practitioner=doctor,
        service=service,
        start=start,
        end=start + timedelta(minutes=30),
        status=Appointment.Status.COMPLETED,
    )
    return Chart(
        tenant_a,
        patient,
        other,
        doctor,
        nurse,
        stranger,
        stranger_membership.user,
        service,
        visit,
    )


from caresync.records.tests.radiology_fixtures import ada_and_alan, department  # noqa: E402,F401
