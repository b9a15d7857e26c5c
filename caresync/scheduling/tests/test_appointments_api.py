"""POST /api/v1/appointments/ and friends: the REST contract, idempotency, who sees what."""

import pytest
import time_machine

from caresync.scheduling.models import Appointment
from caresync.scheduling.tests.conftest import NOW

pytestmark = pytest.mark.django_db

START = "2026-03-02T09:00:00+11:00"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def body(clinic, **extra):
    return {
        "patient": clinic.patient.pk,
        "practitioner": clinic.doctor.pk,
        "service": clinic.consult.pk,
        "start": START,
        **extra,
    }


def test_staff_books_and_gets_the_contract_fields(api_as, clinic):
    response = api_as(clinic.tenant.staff).post(
        "/api/v1/appointments/", body(clinic), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert {"id", "status", "start", "end", "practitioner", "patient", "service"} <= set(data)
    assert data["status"] == "scheduled"
    assert (
        data["end"].startswith("2026-03-01T22:30:00")
        or data["end"].endswith("+11:00")
        or data["end"].endswith("Z")
    )


def test_lost_race_is_409_slot_unavailable_with_alternatives(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    client.post("/api/v1/appointments/", body(clinic), format="json")
    response = client.post(
        "/api/v1/appointments/", body(clinic, patient=clinic.other_patient.pk), format="json"
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_unavailable"
    assert 1 <= len(error["alternatives"]) <= 5


def test_idempotency_key_replays_the_first_response(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    headers = {"HTTP_IDEMPOTENCY_KEY": "book-ada-0900"}
    first = client.post("/api/v1/appointments/", body(clinic), format="json", **headers)
    again = client.post("/api/v1/appointments/", body(clinic), format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Appointment.objects.count() == 1
    other = client.post(
        "/api/v1/appointments/", body(clinic, reason="different"), format="json", **headers
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_refused_booking_is_replayed_too(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    client.post("/api/v1/appointments/", body(clinic), format="json")
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-me"}
    first = client.post(
        "/api/v1/appointments/",
        body(clinic, patient=clinic.other_patient.pk),
        format="json",
        **headers,
    )
    again = client.post(
        "/api/v1/appointments/",
        body(clinic, patient=clinic.other_patient.pk),
        format="json",
        **headers,
    )
    assert first.status_code == again.status_code == 409


def test_patients_book_for_themselves_only(api_as, clinic):
    from caresync.directory.services import patient_update

    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    client = api_as(clinic.tenant.patient)
    own = client.post(
        "/api/v1/appointments/", {"service": clinic.consult.pk, "start": START}, format="json"
    )
    assert own.status_code == 201, own.content
    assert own.json()["patient"] == clinic.patient.pk
    someone_else = client.post(
        "/api/v1/appointments/",
        body(clinic, patient=clinic.other_patient.pk, start="2026-03-02T10:00:00+11:00"),
        format="json",
    )
    assert someone_else.status_code == 404
    listed = client.get("/api/v1/appointments/").json()["results"]
    assert [a["patient"] for a in listed] == [clinic.patient.pk]


def test_a_patient_may_not_complete_their_own_appointment(api_as, clinic):
    from caresync.directory.services import patient_update

    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    booked = (
        api_as(clinic.tenant.staff)
        .post("/api/v1/appointments/", body(clinic), format="json")
        .json()
    )
    response = api_as(clinic.tenant.patient).post(
        f"/api/v1/appointments/{booked['id']}/complete/", {}, format="json"
    )
    assert response.status_code == 403, response.content


def test_slots_endpoint_lists_free_times(api_as, clinic):
    response = api_as(clinic.tenant.staff).get(
        "/api/v1/slots/",
        {
            "service": clinic.consult.pk,
            "start": "2026-03-02T09:00:00+11:00",
            "end": "2026-03-02T10:00:00+11:00",
        },
    )
    assert response.status_code == 200
    assert [(s["local_start"][11:16], s["practitioner"]) for s in response.json()] == [
        ("09:00", None),
        ("09:15", None),
        ("09:30", None),
    ]
    one = api_as(clinic.tenant.staff).get(
        "/api/v1/slots/",
        {
            "service": clinic.consult.pk,
            "practitioner": clinic.second_doctor.pk,
            "start": "2026-03-02T09:00:00+11:00",
            "end": "2026-03-02T10:00:00+11:00",
        },
    )
    assert {s["practitioner"] for s in one.json()} == {clinic.second_doctor.pk}
    too_wide = api_as(clinic.tenant.staff).get(
        "/api/v1/slots/",
        {
            "service": clinic.consult.pk,
            "start": "2026-03-01T00:00:00Z",
            "end": "2026-05-01T00:00:00Z",
        },
    )
    assert too_wide.status_code == 400


def test_bad_booking_input_is_a_field_error(api_as, clinic):
    response = api_as(clinic.tenant.staff).post(
        "/api/v1/appointments/", body(clinic, start="tomorrow-ish"), format="json"
    )
    assert response.status_code == 400
    assert "start" in response.json()["error"]["fields"]
