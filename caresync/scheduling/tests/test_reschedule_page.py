"""The reschedule page: patients move their own visits, staff move anyone's or propose
another time for a request, and a taken time offers alternatives."""

import pytest
import time_machine
from django.urls import reverse

from caresync.core.models import AuditEvent
from caresync.directory.services import patient_update
from caresync.scheduling.models import Appointment
from caresync.scheduling.tests.conftest import MONDAY, NOW, at, book
from caresync.scheduling.views.common import utc_text

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient_user(clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    return clinic.tenant.patient


def page(appointment):
    return reverse("appointment-reschedule", args=[appointment.pk])


def test_patient_picks_a_new_time_and_the_history_shows_the_move(client, clinic, patient_user):
    appointment = book(clinic, at(9))
    client.force_login(patient_user)
    detail = client.get(reverse("appointment-detail", args=[appointment.pk])).content.decode()
    assert page(appointment) in detail and "Reschedule" in detail

    times = client.get(page(appointment), {"day": MONDAY.isoformat()}).content.decode()
    assert ">09:30<" in times
    assert f'value="{utc_text(at(9))}"' not in times, "the current time is not offered"

    response = client.post(page(appointment), {"start": utc_text(at(14)), "reason": "Work"})
    assert response.status_code == 302
    moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.start == at(14)
    history = client.get(response.url).content.decode()
    assert "Rescheduled" in history and "Mon 2 Mar 09:00 → Mon 2 Mar 14:00" in history
    assert "“Work”" in history


def test_a_taken_time_shows_alternatives_and_moves_nothing(client, clinic, patient_user):
    appointment = book(clinic, at(9))
    book(clinic, at(14), patient=clinic.other_patient)
    client.force_login(patient_user)
    response = client.post(page(appointment), {"start": utc_text(at(14))})
    assert response.status_code == 409
    assert "Someone just took that time" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).start == at(9)


def test_another_patients_appointment_is_not_found(client, clinic, patient_user):
    theirs = book(clinic, at(9), patient=clinic.other_patient)
    client.force_login(patient_user)
    assert client.get(page(theirs)).status_code == 404
    assert client.post(page(theirs), {"start": utc_text(at(14))}).status_code == 404
    assert Appointment.objects.get(pk=theirs.pk).start == at(9)


def test_staff_propose_another_time_for_a_request_and_the_patient_accepts(
    client, clinic, patient_user
):
    request = book(clinic, at(9), request_only=True)
    client.force_login(clinic.tenant.doctor)
    detail = client.get(reverse("appointment-detail", args=[request.pk])).content.decode()
    assert "Propose another time" in detail
    response = client.post(
        page(request) + "?propose=1",
        {"propose": "1", "start": utc_text(at(15)), "practitioner": clinic.doctor.pk},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.start) == ("proposed", at(15))
    assert AuditEvent.objects.filter(
        actor=clinic.tenant.doctor, action="read", patient_id=str(clinic.patient.pk)
    ).exists()

    client.force_login(patient_user)
    detail = client.get(reverse("appointment-detail", args=[request.pk])).content.decode()
    assert "Accept the new time" in detail
    client.post(reverse("appointment-action", args=[request.pk]), {"action": "accept"})
    request.refresh_from_db()
    assert request.status == "scheduled"


def test_staff_move_a_visit_to_another_practitioner(client, clinic):
    appointment = book(clinic, at(9))
    client.force_login(clinic.tenant.staff)
    listing = client.get(page(appointment), {"practitioner": clinic.second_doctor.pk})
    assert listing.status_code == 200
    client.post(
        page(appointment),
        {"start": utc_text(at(9)), "practitioner": clinic.second_doctor.pk},
    )
    appointment.refresh_from_db()
    assert appointment.practitioner == clinic.second_doctor


def test_patients_cannot_propose_and_closed_visits_cannot_move(client, clinic, patient_user):
    request = book(clinic, at(9), request_only=True)
    client.force_login(patient_user)
    response = client.post(page(request) + "?propose=1", {"start": utc_text(at(15))})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.start) == ("requested", at(9))
    request.status = "cancelled"
    request.save()
    assert client.get(page(request)).status_code == 302
