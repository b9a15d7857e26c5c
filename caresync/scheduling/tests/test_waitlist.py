"""The waitlist: freed time is offered in order through expiring claim links; the first
claim books it through the booking service."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import signing

from caresync.core.errors import ApplicationError
from caresync.directory.services import patient_create
from caresync.notifications.models import OutboxEvent
from caresync.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from caresync.scheduling.services import (
    appointment_reschedule,
    appointment_transition,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_claim,
    waitlist_offers_expire,
)
from caresync.scheduling.tests.conftest import MONDAY, NOW, SYDNEY, at, book
from caresync.scheduling.waitlist_selectors import (
    OFFER_SALT,
    waitlist_offer_token,
    waitlist_offer_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def new_patient(clinic, given_name: str):
    return patient_create(
        actor=None,
        organization=clinic.tenant.organization,
        given_name=given_name,
        family_name="Waiting",
        date_of_birth=date(1970, 1, 1),
    )


def join(clinic, patient, service=None, **fields):
    return waitlist_join(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient,
        service=service or clinic.consult,
        **fields,
    )


def cancel(appointment, capture, **extra):
    """Cancel as staff and run what is queued after commit (the waitlist task, eagerly)."""
    with capture(execute=True):
        return appointment_transition(
            actor=None, appointment=appointment, action="cancel", reason="Rang in", **extra
        )


def offers_to(entry):
    return list(WaitlistOffer.objects.filter(entry=entry).order_by("pk"))


@pytest.fixture
def freed_nine(clinic, django_capture_on_commit_callbacks):
    """Four patients wait for a consult; then the doctor's 09:00 on MONDAY is cancelled."""
    entries = [join(clinic, new_patient(clinic, name)) for name in ("Ann", "Ben", "Cat", "Dan")]
    cancel(book(clinic, at(9)), django_capture_on_commit_callbacks)
    return entries


def test_a_cancellation_offers_the_slot_to_the_first_waiting_patients_in_order(clinic, freed_nine):
    first, second, third, fourth = freed_nine
    for entry in (first, second, third):
        (offer,) = offers_to(entry)
        assert (offer.start, offer.end) == (at(9), at(9, 30))
        assert offer.practitioner == clinic.doctor
        assert offer.expires_at == NOW + timedelta(minutes=120)
        entry.refresh_from_db()
        assert entry.status == "offered"
    assert offers_to(fourth) == []
    fourth.refresh_from_db()
    assert fourth.status == "waiting"
    events = OutboxEvent.objects.filter(kind="waitlist.offered").order_by("id")
    assert [(e.payload["entry"], e.payload["offer"]) for e in events] == [
        (entry.pk, offers_to(entry)[0].pk) for entry in (first, second, third)
    ]


def test_offers_follow_practitioner_dates_day_parts_fit_and_the_patients_own_diary(
    clinic, django_capture_on_commit_callbacks
):
    nurse_only = join(clinic, new_patient(clinic, "Nurse"), practitioner=clinic.second_doctor)
    too_late = join(clinic, new_patient(clinic, "Late"), earliest_date=MONDAY + timedelta(days=1))
    too_early = join(clinic, new_patient(clinic, "Early"), latest_date=MONDAY - timedelta(days=3))
    afternoons = join(clinic, new_patient(clinic, "Noon"), preferred_times=["afternoon"])
    busy_patient = new_patient(clinic, "Busy")
    busy = join(clinic, busy_patient)
    book(clinic, at(9), practitioner="second_doctor", patient=busy_patient)
    scan = join(clinic, new_patient(clinic, "Scan"), service=clinic.mri)  # 45 min: too long
    mornings = join(
        clinic, new_patient(clinic, "Dawn"), preferred_times=["morning"], practitioner=clinic.doctor
    )

    cancel(book(clinic, at(9)), django_capture_on_commit_callbacks)

    assert [o.entry for o in WaitlistOffer.objects.all()] == [mornings]  # 09:00 Sydney: morning
    for entry in (nurse_only, too_late, too_early, afternoons, busy, scan):
        entry.refresh_from_db()
        assert entry.status == "waiting", entry.patient


def test_claiming_books_through_the_booking_service_and_withdraws_the_other_offers(
    clinic, freed_nine
):
    first, second, third, _ = freed_nine
    token = waitlist_offer_token(offers_to(second)[0])

    appointment = waitlist_offer_claim(token_or_offer=token)

    assert (appointment.patient, appointment.practitioner, appointment.start) == (
        second.patient,
        clinic.doctor,
        at(9),
    )
    assert appointment.status == "scheduled"
    assert appointment.events.get().to_status == "scheduled"  # the booking service's history
    second.refresh_from_db()
    assert (second.status, second.appointment) == ("booked", appointment)
    (claimed,) = offers_to(second)
    assert (claimed.status, claimed.appointment, claimed.claimed_at) == (
        "claimed",
        appointment,
        NOW,
    )
    for entry in (first, third):
        assert [o.status for o in offers_to(entry)] == ["withdrawn"]
        entry.refresh_from_db()
        assert entry.status == "waiting"
    kinds = list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[-5:] == [
        "appointment.booked",
        "waitlist.booked",
        "waitlist.claimed",
        "waitlist.offer_withdrawn",
        "waitlist.offer_withdrawn",
    ]


def test_a_second_claim_is_refused_and_nothing_is_double_booked(clinic, freed_nine):
    first, second, _, _ = freed_nine
    waitlist_offer_claim(token_or_offer=waitlist_offer_token(offers_to(first)[0]))

    with pytest.raises(ApplicationError) as taken:
        waitlist_offer_claim(token_or_offer=waitlist_offer_token(offers_to(second)[0]))
    assert (taken.value.code, taken.value.status_code) == ("offer_taken", 409)
    with pytest.raises(ApplicationError) as again:
        waitlist_offer_claim(token_or_offer=offers_to(first)[0])
    assert (again.value.code, again.value.status_code) == ("offer_claimed", 409)

    booked = Appointment.objects.filter(start=at(9), status__in=Appointment.BLOCKING)
    assert [a.patient for a in booked] == [first.patient]


def test_an_expired_offer_is_refused_and_goes_to_the_next_in_line(
    clinic, settings, django_capture_on_commit_callbacks, _frozen_now
):
    settings.WAITLIST_OFFER_BATCH = 1
    first = join(clinic, new_patient(clinic, "Ann"))
    second = join(clinic, new_patient(clinic, "Ben"))
    cancel(book(clinic, at(9)), django_capture_on_commit_callbacks)
    (lapsing,) = offers_to(first)
    assert offers_to(second) == []

    _frozen_now.shift(timedelta(minutes=121))
    with pytest.raises(ApplicationError) as late:
        waitlist_offer_claim(token_or_offer=waitlist_offer_token(lapsing))
    assert (late.value.code, late.value.status_code) == ("offer_expired", 410)
    assert not Appointment.objects.filter(start=at(9), status="scheduled").exists()

    assert waitlist_offers_expire() == 1
    lapsing.refresh_from_db()
    assert lapsing.status == "expired"
    first.refresh_from_db()
    assert first.status == "waiting"  # keeps its place for other times
    (next_offer,) = offers_to(second)
    assert next_offer.start == at(9)
    assert next_offer.expires_at == NOW + timedelta(minutes=121 + 120)
    assert len(offers_to(first)) == 1  # the time that lapsed is not offered to them again
    assert OutboxEvent.objects.filter(kind="waitlist.offer_expired").count() == 1


def test_a_time_booked_another_way_is_refused_to_the_claim_and_withdrawn(clinic, freed_nine):
    first, second, _, _ = freed_nine
    book(clinic, at(9), patient=clinic.other_patient)  # the front desk books it meanwhile

    with pytest.raises(ApplicationError) as gone:
        waitlist_offer_claim(token_or_offer=waitlist_offer_token(offers_to(first)[0]))
    assert (gone.value.code, gone.value.status_code) == ("offer_taken", 409)
    assert [o.status for o in offers_to(first)] == ["withdrawn"]
    first.refresh_from_db()
    assert first.status == "waiting"

    waitlist_offers_expire()  # the periodic sweep withdraws the rest of that time's offers
    assert [o.status for o in offers_to(second)] == ["withdrawn"]
    assert Appointment.objects.filter(start=at(9), status="scheduled").count() == 1


def test_a_tampered_claim_token_opens_nothing(clinic, freed_nine):
    token = waitlist_offer_token(offers_to(freed_nine[0])[0])
    other_id = signing.dumps(offers_to(freed_nine[1])[0].pk)  # signed, but not for offers
    for bad in (token[:-2] + "xx", other_id, "", "not-a-token"):
        with pytest.raises(ApplicationError) as refused:
            waitlist_offer_claim(token_or_offer=bad)
        assert refused.value.status_code == 404
    assert not Appointment.objects.filter(start=at(9), status="scheduled").exists()


def test_leaving_withdraws_the_open_offer_and_passes_the_time_on(
    clinic, settings, django_capture_on_commit_callbacks
):
    settings.WAITLIST_OFFER_BATCH = 1
    first = join(clinic, new_patient(clinic, "Ann"))
    second = join(clinic, new_patient(clinic, "Ben"))
    cancel(book(clinic, at(9)), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        waitlist_leave(actor=clinic.tenant.staff, entry=first, reason="Found another clinic")

    first.refresh_from_db()
    assert first.status == "cancelled"
    assert [o.status for o in offers_to(first)] == ["withdrawn"]
    assert [o.start for o in offers_to(second)] == [at(9)]
    with pytest.raises(ApplicationError) as twice:
        waitlist_leave(actor=None, entry=first)
    assert twice.value.code == "not_waiting"


def test_moving_an_appointment_offers_its_old_time(clinic, django_capture_on_commit_callbacks):
    entry = join(clinic, new_patient(clinic, "Ann"))
    appointment = book(clinic, at(9))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_reschedule(actor=None, appointment=appointment, start=at(11), now=NOW)
    assert [(o.start, o.end) for o in offers_to(entry)] == [(at(9), at(9, 30))]


def test_a_rejected_request_offers_its_time(clinic, django_capture_on_commit_callbacks):
    entry = join(clinic, new_patient(clinic, "Ann"))
    request = book(clinic, at(10), request_only=True)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_transition(actor=None, appointment=request, action="reject", reason="No")
    assert [o.start for o in offers_to(entry)] == [at(10)]


def test_a_past_or_unbookable_time_is_not_offered(clinic, django_capture_on_commit_callbacks):
    entry = join(clinic, new_patient(clinic, "Ann"))
    soon = book(clinic, at(9))
    with time_machine.travel(at(8, 30), tick=False):  # inside the service's hour of notice
        cancel(soon, django_capture_on_commit_callbacks, now=at(8, 30))
    assert offers_to(entry) == []


def test_an_offer_of_a_time_starting_soon_lasts_only_while_it_can_be_booked(
    clinic, django_capture_on_commit_callbacks
):
    entry = join(clinic, new_patient(clinic, "Ann"))
    one_pm_today = datetime(2026, 2, 20, 13, tzinfo=SYDNEY)  # NOW is 11:00 in Sydney
    cancel(book(clinic, one_pm_today), django_capture_on_commit_callbacks)
    (offer,) = offers_to(entry)
    assert offer.expires_at == one_pm_today - timedelta(minutes=60)  # the consult's notice


def test_a_patient_is_on_the_waitlist_for_a_service_only_once(clinic):
    entry = join(clinic, clinic.patient)
    with pytest.raises(ApplicationError) as twice:
        join(clinic, clinic.patient, practitioner=clinic.doctor)
    assert (twice.value.code, twice.value.status_code) == ("already_waiting", 409)
    assert twice.value.extra == {"entry": entry.pk}
    join(clinic, clinic.patient, service=clinic.mri)  # another service is fine
    waitlist_leave(actor=None, entry=entry)
    assert join(clinic, clinic.patient).status == "waiting"  # and again after leaving


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"preferred_times": ["night"]}, "preferred_times", "invalid_choice"),
        (
            {"earliest_date": date(2026, 3, 9), "latest_date": date(2026, 3, 2)},
            "latest_date",
            "invalid_range",
        ),
        ({"latest_date": date(2026, 2, 1)}, "latest_date", "in_past"),
        ({"earliest_date": date(2027, 2, 1)}, "earliest_date", "too_far"),
        ({"notes": "x" * 501}, "notes", "max_length"),
    ],
)
def test_a_muddled_waitlist_request_is_a_field_error_and_changes_nothing(
    clinic, fields, field, code
):
    with pytest.raises(ApplicationError) as refused:
        join(clinic, clinic.patient, **fields)
    assert refused.value.status_code == 400
    assert refused.value.fields[field][0]["code"] == code
    assert not WaitlistEntry.objects.exists()


def test_the_practitioner_must_offer_the_service(clinic):
    with pytest.raises(ApplicationError) as refused:
        join(clinic, clinic.patient, service=clinic.mri, practitioner=clinic.second_doctor)
    assert refused.value.code == "practitioner_not_offering"


def test_another_organizations_service_or_patient_is_not_found(clinic, tenant_b):
    from caresync.directory.services import service_save

    foreign = service_save(
        actor=None,
        organization=tenant_b.organization,
        name="X",
        category="in_person",
        duration_minutes=30,
    )
    with pytest.raises(ApplicationError) as refused:
        join(clinic, clinic.patient, service=foreign)
    assert refused.value.status_code == 404
    foreign_patient = patient_create(
        actor=None,
        organization=tenant_b.organization,
        given_name="Far",
        family_name="Away",
        date_of_birth=date(1990, 1, 1),
    )
    with pytest.raises(ApplicationError) as refused:
        join(clinic, foreign_patient)
    assert refused.value.status_code == 404


def test_claim_links_are_absolute_and_name_no_secret(clinic, freed_nine, settings):
    settings.SITE_URL = "https://clinic.example.org/"
    offer = offers_to(freed_nine[0])[0]
    url = waitlist_offer_url(offer)
    assert url.startswith("https://clinic.example.org/waitlist/offers/")
    assert url.endswith("/")
    assert signing.loads(url.rstrip("/").rsplit("/", 1)[1], salt=OFFER_SALT) == offer.pk


# --- The claim page (no sign-in) ----------------------------------------------------------


def offer_page(offer):
    return f"/waitlist/offers/{waitlist_offer_token(offer)}/"


def test_the_claim_page_shows_the_time_and_books_it_without_signing_in(client, clinic, freed_nine):
    offer = offers_to(freed_nine[0])[0]

    page = client.get(offer_page(offer))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Monday 2 March 2026, 09:00–09:30" in html  # Sydney wall time, not UTC
    assert "Consult" in html and str(clinic.doctor) in html
    assert "csrfmiddlewaretoken" in html and "Book this time" in html
    assert "Lovelace" not in html and freed_nine[0].patient.display_name not in html

    booked = client.post(offer_page(offer))

    assert booked.status_code == 200
    assert "You're booked" in booked.content.decode()
    appointment = Appointment.objects.get(start=at(9), status="scheduled")
    assert appointment.patient == freed_nine[0].patient
    assert client.get(offer_page(offer)).status_code == 200  # still says booked


def test_the_claim_page_refuses_a_taken_or_expired_offer_kindly(
    client, clinic, freed_nine, _frozen_now
):
    first, second, third, _ = freed_nine
    client.post(offer_page(offers_to(first)[0]))

    taken = client.post(offer_page(offers_to(second)[0]))
    assert taken.status_code == 409
    assert "Someone else booked this time first" in taken.content.decode()
    assert client.get(offer_page(offers_to(second)[0])).status_code == 409

    _frozen_now.shift(timedelta(hours=3))
    late = client.get(offer_page(offers_to(third)[0]))
    assert late.status_code in (409, 410)  # withdrawn by the first claim already
    assert Appointment.objects.filter(start=at(9), status="scheduled").count() == 1


def test_an_expired_claim_page_says_so_and_books_nothing(
    client, clinic, settings, django_capture_on_commit_callbacks, _frozen_now
):
    entry = join(clinic, new_patient(clinic, "Ann"))
    cancel(book(clinic, at(9)), django_capture_on_commit_callbacks)
    (offer,) = offers_to(entry)
    _frozen_now.shift(timedelta(minutes=120))

    page = client.post(offer_page(offer))

    assert page.status_code == 410
    assert "This offer has expired" in page.content.decode()
    assert not Appointment.objects.filter(start=at(9), status="scheduled").exists()


def test_a_tampered_claim_link_is_404(client, clinic, freed_nine):
    token = waitlist_offer_token(offers_to(freed_nine[0])[0])
    assert client.get(f"/waitlist/offers/{token[:-1]}A/").status_code == 404
    assert client.post(f"/waitlist/offers/{token[:-1]}A/").status_code == 404
    assert not Appointment.objects.filter(start=at(9), status="scheduled").exists()


# --- API ------------------------------------------------------------------------------------


def link_account(clinic, patient=None):
    """Give ``clinic.patient`` (or ``patient``) the tenant's patient login."""
    from caresync.directory.services import patient_update

    patient_update(actor=None, patient=patient or clinic.patient, user=clinic.tenant.patient)
    return clinic.tenant.patient


def test_patients_join_for_themselves_and_see_only_their_own_entries(api_as, clinic):
    client = api_as(link_account(clinic))
    join(clinic, clinic.other_patient)

    joined = client.post(
        "/api/v1/waitlist/",
        {"service": clinic.consult.pk, "preferred_times": ["evening", "morning"]},
        format="json",
    )

    assert joined.status_code == 201, joined.content
    body = joined.json()
    assert (body["patient"], body["status"]) == (clinic.patient.pk, "waiting")
    assert body["preferred_times"] == ["morning", "evening"]
    assert body["practitioner"] is None
    for_someone_else = client.post(
        "/api/v1/waitlist/",
        {"patient": clinic.other_patient.pk, "service": clinic.mri.pk},
        format="json",
    )
    assert for_someone_else.status_code == 404
    listed = client.get("/api/v1/waitlist/").json()["results"]
    assert [e["patient"] for e in listed] == [clinic.patient.pk]
    again = client.post("/api/v1/waitlist/", {"service": clinic.consult.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_waiting"


def test_the_clinic_sees_the_waitlist_in_join_order_with_filters_and_reads_are_audited(
    api_as, clinic
):
    from caresync.core.models import AuditEvent

    later = new_patient(clinic, "Zed")
    first = join(clinic, later)
    second = join(clinic, clinic.patient, service=clinic.mri, practitioner=clinic.doctor)
    client = api_as(clinic.tenant.staff)

    listed = client.get("/api/v1/waitlist/").json()["results"]
    assert [e["id"] for e in listed] == [first.pk, second.pk]
    assert listed[1]["practitioner_name"] == str(clinic.doctor)
    mri_only = client.get("/api/v1/waitlist/", {"service": clinic.mri.pk}).json()["results"]
    assert [e["id"] for e in mri_only] == [second.pk]
    assert client.get("/api/v1/waitlist/", {"status": "booked"}).json()["results"] == []
    reads = AuditEvent.objects.filter(action="read", actor=clinic.tenant.staff)
    assert {str(later.pk), str(clinic.patient.pk)} <= set(
        reads.values_list("patient_id", flat=True)
    )


def test_bad_waitlist_input_is_a_field_error(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    for body, field in (
        ({"patient": clinic.patient.pk, "service": clinic.consult.pk, "colour": "red"}, "colour"),
        (
            {"patient": clinic.patient.pk, "service": clinic.consult.pk, "preferred_times": ["x"]},
            "preferred_times",
        ),
        ({"service": clinic.consult.pk}, "patient"),
        (
            {
                "patient": clinic.patient.pk,
                "service": clinic.consult.pk,
                "earliest_date": "2026-03-09",
                "latest_date": "2026-03-02",
            },
            "latest_date",
        ),
    ):
        response = client.post("/api/v1/waitlist/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"]
    assert not WaitlistEntry.objects.exists()


def test_leaving_through_the_api(api_as, clinic, django_capture_on_commit_callbacks):
    patient_user = link_account(clinic)
    own = join(clinic, clinic.patient)
    someone_elses = join(clinic, clinic.other_patient)
    client = api_as(patient_user)

    assert client.delete(f"/api/v1/waitlist/{someone_elses.pk}/").status_code == 404
    left = client.delete(f"/api/v1/waitlist/{own.pk}/", {"reason": "Sorted"}, format="json")
    assert left.status_code == 200
    assert left.json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/waitlist/{own.pk}/").status_code == 409

    removed = api_as(clinic.tenant.staff).delete(f"/api/v1/waitlist/{someone_elses.pk}/")
    assert removed.status_code == 200
    someone_elses.refresh_from_db()
    assert someone_elses.status == "cancelled"


def test_claiming_through_the_api_books_for_the_entrys_patient_only(api_as, clinic, freed_nine):
    first, second, _, _ = freed_nine
    patient_user = link_account(clinic, patient=second.patient)
    first_token = waitlist_offer_token(offers_to(first)[0])

    not_theirs = api_as(patient_user).post(
        "/api/v1/waitlist/offers/claim/", {"token": first_token}, format="json"
    )
    assert not_theirs.status_code == 404
    offers = api_as(patient_user).get(f"/api/v1/waitlist/{second.pk}/offers/").json()
    assert [(o["status"], o["start"][:16]) for o in offers] == [("open", "2026-03-01T22:00")]

    claimed = api_as(patient_user).post(
        "/api/v1/waitlist/offers/claim/",
        {"token": waitlist_offer_token(offers_to(second)[0])},
        format="json",
    )
    assert claimed.status_code == 201, claimed.content
    assert claimed.json()["patient"] == second.patient.pk
    late = api_as(clinic.tenant.staff).post(
        "/api/v1/waitlist/offers/claim/", {"token": first_token}, format="json"
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "offer_taken"
    bogus = api_as(clinic.tenant.staff).post(
        "/api/v1/waitlist/offers/claim/", {"token": "nope"}, format="json"
    )
    assert bogus.status_code == 404


def test_another_organization_sees_nothing_of_the_waitlist(api_as, clinic, freed_nine, tenant_b):
    entry = freed_nine[0]
    client = api_as(tenant_b.staff)
    assert client.get("/api/v1/waitlist/").json()["results"] == []
    assert client.get(f"/api/v1/waitlist/{entry.pk}/").status_code == 404
    assert client.get(f"/api/v1/waitlist/{entry.pk}/offers/").status_code == 404
    assert client.delete(f"/api/v1/waitlist/{entry.pk}/").status_code == 404
    token = waitlist_offer_token(offers_to(entry)[0])
    claim = client.post("/api/v1/waitlist/offers/claim/", {"token": token}, format="json")
    assert claim.status_code == 404
    entry.refresh_from_db()
    assert entry.status == "offered"


# --- Pages ----------------------------------------------------------------------------------


def test_staff_see_the_waitlist_in_order_with_offers_and_remove_a_patient(
    client, clinic, freed_nine
):
    client.force_login(clinic.tenant.staff)
    page = client.get("/waitlist/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/waitlist/"' in html  # in the sidebar
    names = [entry.patient.display_name for entry in freed_nine]
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)
    assert html.count("open until 13:00") == 3  # offered at 11:00 Sydney, open 2 hours
    assert "None yet" in html  # the fourth is still waiting

    removed = client.post(
        f"/waitlist/{freed_nine[3].pk}/leave/", {"next": "/waitlist/"}, follow=True
    )
    assert "Dan Waiting is off the waitlist for Consult." in removed.content.decode()
    freed_nine[3].refresh_from_db()
    assert freed_nine[3].status == "cancelled"
    assert names[3] not in client.get("/waitlist/").content.decode()


def test_staff_add_a_patient_found_by_search_with_the_service_prefilled(client, clinic):
    client.force_login(clinic.tenant.staff)
    search = client.get("/waitlist/join/", {"q": "Lovelace", "service": clinic.consult.pk})
    assert f"?service={clinic.consult.pk}&amp;patient={clinic.patient.pk}" in (
        search.content.decode()
    )
    form = client.get(
        "/waitlist/join/", {"patient": clinic.patient.pk, "service": clinic.consult.pk}
    )
    assert f'<option value="{clinic.consult.pk}" selected>' in form.content.decode()

    body = {
        "patient": clinic.patient.pk,
        "service": clinic.consult.pk,
        "practitioner": clinic.doctor.pk,
        "preferred_times": ["morning", "afternoon"],
        "latest_date": "2026-04-30",
    }
    added = client.post("/waitlist/join/", body)
    assert added.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.patient, entry.practitioner, entry.created_by) == (
        clinic.patient,
        clinic.doctor,
        clinic.tenant.staff,
    )
    assert entry.preferred_times == ["morning", "afternoon"]

    twice = client.post("/waitlist/join/", body)
    assert twice.status_code == 200
    assert "already on the waitlist" in twice.content.decode()
    assert WaitlistEntry.objects.count() == 1


def test_a_patient_joins_from_a_full_booking_page_and_leaves_from_their_appointments(
    client, clinic
):
    from caresync.scheduling.services import closure_save

    user = link_account(clinic)
    client.force_login(user)
    closure_save(
        actor=None,
        organization=clinic.tenant.organization,
        start_date=date(2026, 2, 20),
        end_date=date(2026, 3, 10),
        reason="Renovation",
    )
    full = client.get(
        "/book/", {"service": clinic.consult.pk, "practitioner": clinic.doctor.pk}
    ).content.decode()
    assert "No free times in the next two weeks" in full
    link = f"/waitlist/join/?service={clinic.consult.pk}&amp;practitioner={clinic.doctor.pk}"
    assert link in full

    joined = client.post(
        "/waitlist/join/",
        {"service": clinic.consult.pk, "practitioner": clinic.doctor.pk},
    )
    assert joined.status_code == 302 and joined["Location"] == "/appointments/"
    entry = WaitlistEntry.objects.get(patient=clinic.patient)
    mine = client.get("/appointments/").content.decode()
    assert "On the waitlist" in mine and "Consult with" in mine

    left = client.post(f"/waitlist/{entry.pk}/leave/", {"next": "/appointments/"})
    assert left.status_code == 302
    entry.refresh_from_db()
    assert entry.status == "cancelled"
    assert "On the waitlist" not in client.get("/appointments/").content.decode()


def test_patients_cannot_touch_someone_elses_entry_and_other_clinics_see_nothing(
    client, clinic, tenant_b, freed_nine
):
    link_account(clinic)
    client.force_login(clinic.tenant.patient)
    other = freed_nine[0]
    assert client.post(f"/waitlist/{other.pk}/leave/").status_code == 404
    assert other.patient.display_name not in client.get("/waitlist/").content.decode()
    client.force_login(tenant_b.staff)
    assert other.patient.display_name not in client.get("/waitlist/").content.decode()
    assert client.post(f"/waitlist/{other.pk}/leave/").status_code == 404
    other.refresh_from_db()
    assert other.status == "offered"


def test_the_demo_has_waitlist_entries_and_an_open_offer_once():
    from django.core.management import call_command

    call_command("seed_demo", quiet_logins=True)
    entries = WaitlistEntry.objects.count()
    demo_patient = "patient1@harbour-health.test"
    offered = WaitlistOffer.objects.filter(status="open", entry__patient__user__email=demo_patient)
    assert entries >= 4
    assert offered.count() == 1
    call_command("seed_demo", quiet_logins=True)
    assert WaitlistEntry.objects.count() == entries


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_time_book_it_once(clinic):
    from caresync.scheduling.services import waitlist_offer_freed_slot
    from caresync.scheduling.tests.test_races import run_concurrently

    entries = [join(clinic, new_patient(clinic, name)) for name in ("Ann", "Ben", "Cat")]
    offers = waitlist_offer_freed_slot(practitioner_id=clinic.doctor.pk, start=at(9), end=at(9, 30))
    assert [o.entry for o in offers] == entries
    tokens = [waitlist_offer_token(offer) for offer in offers]

    def claim(index):
        try:
            waitlist_offer_claim(token_or_offer=tokens[index])
        except ApplicationError as exc:
            return exc.code
        return "booked"

    outcomes = run_concurrently(claim, count=len(tokens))

    assert sorted(outcomes) == ["booked", "offer_taken", "offer_taken"], outcomes
    assert Appointment.objects.filter(start=at(9), status="scheduled").count() == 1
    assert sorted(WaitlistOffer.objects.values_list("status", flat=True)) == [
        "claimed",
        "withdrawn",
        "withdrawn",
    ]
