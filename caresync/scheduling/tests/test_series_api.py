"""/api/v1/appointment-series/: preview, all-or-nothing booking, cancel and move the rest;
who sees what, idempotency, bad input."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from caresync.core.models import AuditEvent
from caresync.directory.services import patient_update
from caresync.scheduling.models import Appointment, AppointmentSeries
from caresync.scheduling.services import appointment_book
from caresync.scheduling.tests.conftest import NOW

pytestmark = pytest.mark.django_db
SYDNEY = ZoneInfo("Australia/Sydney")
URL = "/api/v1/appointment-series/"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient_user(clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    return clinic.tenant.patient


def body(clinic, **extra):
    return {
        "patient": clinic.patient.pk,
        "practitioner": clinic.doctor.pk,
        "service": clinic.consult.pk,
        "first_start": "2026-03-03T09:00:00+11:00",
        "rrule": "FREQ=WEEKLY;COUNT=6",
        **extra,
    }


def booked(api_as, clinic, **extra):
    response = api_as(clinic.tenant.staff).post(URL, body(clinic, **extra), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_staff_book_a_series_and_get_every_occurrence(api_as, clinic):
    data = booked(api_as, clinic, reason="Physio block")
    assert data["status"] == "active"
    assert data["rrule"] == "FREQ=WEEKLY;COUNT=6"
    assert data["time_zone"] == "Australia/Sydney"
    assert len(data["occurrences"]) == 6
    assert {"id", "start", "end", "status"} == set(data["occurrences"][0])
    local = [datetime.fromisoformat(o["start"]).astimezone(SYDNEY) for o in data["occurrences"]]
    assert {moment.strftime("%a %H:%M") for moment in local} == {"Tue 09:00"}
    assert Appointment.objects.filter(series_id=data["id"]).count() == 6


def test_a_conflict_is_409_listing_it_and_books_nothing(api_as, clinic):
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=datetime(2026, 3, 24, 9, tzinfo=SYDNEY),
        practitioner=clinic.doctor,
    )
    response = api_as(clinic.tenant.staff).post(URL, body(clinic), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "series_conflict"
    (conflict,) = error["conflicts"]
    assert datetime.fromisoformat(conflict["start"]) == datetime(2026, 3, 24, 9, tzinfo=SYDNEY)
    assert conflict["code"] == "slot_unavailable"
    assert 1 <= len(conflict["alternatives"]) <= 3
    assert Appointment.objects.count() == 1
    assert not AppointmentSeries.objects.exists()


def test_the_preview_lists_each_occurrence_and_books_nothing(api_as, clinic):
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=datetime(2026, 3, 24, 9, tzinfo=SYDNEY),
        practitioner=clinic.doctor,
    )
    response = api_as(clinic.tenant.staff).post(f"{URL}preview/", body(clinic), format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["bookable"] is False
    assert [o["bookable"] for o in data["occurrences"]] == [True, True, True, False, True, True]
    assert data["occurrences"][3]["code"] == "slot_unavailable"
    assert data["occurrences"][3]["alternatives"]
    assert Appointment.objects.count() == 1
    assert not AppointmentSeries.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"rrule": "FREQ=DAILY;COUNT=3"}, "rrule", "invalid_rrule"),
        ({"rrule": "FREQ=WEEKLY;COUNT=60"}, "rrule", "invalid_rrule"),
        ({"rrule": "FREQ=WEEKLY;COUNT=20"}, "rrule", "invalid_rrule"),  # past the horizon
        ({"first_start": "next tuesday"}, "first_start", "validation_error"),
        ({"colour": "blue"}, "colour", "validation_error"),
    ],
)
def test_bad_input_is_a_structured_400_and_changes_nothing(api_as, clinic, change, field, code):
    for path in (URL, f"{URL}preview/"):
        response = api_as(clinic.tenant.staff).post(path, body(clinic, **change), format="json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == code
        assert field in error["fields"]
    assert not Appointment.objects.exists()
    assert not AppointmentSeries.objects.exists()


def test_idempotency_key_books_the_series_once(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    headers = {"HTTP_IDEMPOTENCY_KEY": "ada-physio-block"}
    first = client.post(URL, body(clinic), format="json", **headers)
    again = client.post(URL, body(clinic), format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert AppointmentSeries.objects.count() == 1
    assert Appointment.objects.count() == 6


def test_patients_book_and_see_only_their_own_series(api_as, clinic, patient_user):
    client = api_as(patient_user)
    own = client.post(URL, {k: v for k, v in body(clinic).items() if k != "patient"}, format="json")
    assert own.status_code == 201, own.content
    assert own.json()["patient"] == clinic.patient.pk
    someone_else = client.post(
        URL,
        body(clinic, patient=clinic.other_patient.pk, first_start="2026-03-04T09:00:00+11:00"),
        format="json",
    )
    assert someone_else.status_code == 404
    theirs = booked(
        api_as, clinic, patient=clinic.other_patient.pk, first_start="2026-03-05T09:00:00+11:00"
    )
    client = api_as(patient_user)  # one client: signing in as staff above switched it
    assert [s["id"] for s in client.get(URL).json()["results"]] == [own.json()["id"]]
    assert client.get(f"{URL}{theirs['id']}/").status_code == 404


def test_reading_a_series_is_audited_as_a_read_of_the_patient(api_as, clinic):
    series = booked(api_as, clinic)
    client = api_as(clinic.tenant.doctor)
    for path in (URL, f"{URL}{series['id']}/"):
        before = AuditEvent.objects.filter(action="read", patient_id=str(clinic.patient.pk))
        count = before.count()
        assert client.get(path).status_code == 200
        assert before.count() == count + 1


def test_another_organization_gets_404_for_a_series(api_as, clinic, tenant_b):
    series = booked(api_as, clinic)
    client = api_as(tenant_b.admin)
    assert client.get(f"{URL}{series['id']}/").status_code == 404
    response = client.post(f"{URL}{series['id']}/cancel/", {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert client.get(URL).json()["results"] == []
    assert not Appointment.objects.filter(status="cancelled").exists()


def test_cancel_one_occurrence_then_this_and_following(api_as, clinic):
    series = booked(api_as, clinic)
    ids = [o["id"] for o in series["occurrences"]]
    client = api_as(clinic.tenant.staff)
    one = client.post(
        f"{URL}{series['id']}/cancel/",
        {"from_appointment": ids[1], "only_this": True, "reason": "Away that week"},
        format="json",
    )
    assert one.status_code == 200, one.content
    assert [o["status"] for o in one.json()["occurrences"]] == [
        "scheduled",
        "cancelled",
        "scheduled",
        "scheduled",
        "scheduled",
        "scheduled",
    ]
    rest = client.post(
        f"{URL}{series['id']}/cancel/",
        {"from_appointment": ids[3], "reason": "Discharged early"},
        format="json",
    )
    assert rest.status_code == 200, rest.content
    assert [o["status"] for o in rest.json()["occurrences"]][3:] == ["cancelled"] * 3
    assert rest.json()["status"] == "active"
    everything = client.post(f"{URL}{series['id']}/cancel/", {"reason": "Stop"}, format="json")
    assert everything.json()["status"] == "cancelled"


def test_clinic_cancellations_need_a_reason(api_as, clinic):
    series = booked(api_as, clinic)
    response = api_as(clinic.tenant.staff).post(f"{URL}{series['id']}/cancel/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reason_required"
    assert not Appointment.objects.filter(status="cancelled").exists()


def test_a_patient_inside_the_window_cancels_nothing(api_as, clinic, patient_user):
    series = booked(api_as, clinic)
    first = series["occurrences"][0]
    start = datetime.fromisoformat(first["start"])
    with time_machine.travel(start.replace(hour=start.hour - 5), tick=False):
        response = api_as(patient_user).post(
            f"{URL}{series['id']}/cancel/", {"from_appointment": first["id"]}, format="json"
        )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cancellation_window"
    assert error["occurrence"]["appointment"] == first["id"]
    assert not Appointment.objects.filter(status="cancelled").exists()


def test_an_occurrence_of_another_series_is_refused_as_the_starting_point(api_as, clinic):
    series = booked(api_as, clinic, rrule="FREQ=WEEKLY;COUNT=2")
    other = booked(
        api_as,
        clinic,
        patient=clinic.other_patient.pk,
        rrule="FREQ=WEEKLY;COUNT=2",
        first_start="2026-03-04T09:00:00+11:00",
    )
    response = api_as(clinic.tenant.staff).post(
        f"{URL}{series['id']}/cancel/",
        {"from_appointment": other["occurrences"][0]["id"], "reason": "Wrong one"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_in_series"


def test_move_the_rest_of_the_series_to_another_time(api_as, clinic):
    series = booked(api_as, clinic, rrule="FREQ=WEEKLY;COUNT=3")
    ids = [o["id"] for o in series["occurrences"]]
    response = api_as(clinic.tenant.staff).post(
        f"{URL}{series['id']}/reschedule/",
        {"from_appointment": ids[1], "time": "14:30", "days": 1, "reason": "New hours"},
        format="json",
    )
    assert response.status_code == 200, response.content
    local = [
        datetime.fromisoformat(o["start"]).astimezone(SYDNEY).strftime("%a %d %H:%M")
        for o in response.json()["occurrences"]
    ]
    assert local == ["Tue 03 09:00", "Wed 11 14:30", "Wed 18 14:30"]


def test_moving_onto_a_taken_time_is_409_and_moves_nothing(api_as, clinic):
    series = booked(api_as, clinic, rrule="FREQ=WEEKLY;COUNT=3")
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=datetime(2026, 3, 17, 14, tzinfo=SYDNEY),
        practitioner=clinic.doctor,
    )
    response = api_as(clinic.tenant.staff).post(
        f"{URL}{series['id']}/reschedule/", {"time": "14:00"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "series_conflict"
    assert len(response.json()["error"]["conflicts"]) == 1
    starts = Appointment.objects.filter(series_id=series["id"]).values_list("start", flat=True)
    assert {s.astimezone(SYDNEY).hour for s in starts} == {9}


def test_move_days_out_of_range_is_a_400(api_as, clinic):
    series = booked(api_as, clinic, rrule="FREQ=WEEKLY;COUNT=2")
    response = api_as(clinic.tenant.staff).post(
        f"{URL}{series['id']}/reschedule/", {"time": "10:00", "days": 7}, format="json"
    )
    assert response.status_code == 400
    assert "days" in response.json()["error"]["fields"]
