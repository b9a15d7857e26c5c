"""Directory pages: the patient list and record, registration with duplicate handling, the
care team, practitioners, and the services / locations / resources admin pages."""

from datetime import date

import pytest

from caresync.accounts.models import Membership
from caresync.core.models import AuditEvent
from caresync.directory.models import CareTeamMember, Patient, Practitioner, Service
from caresync.directory.services import (
    care_team_assign,
    location_save,
    patient_create,
    practitioner_profile_create,
)

pytestmark = pytest.mark.django_db


def make_patient(tenant, given="Ada", family="Lovelace", born=date(1985, 12, 10), **extra):
    return patient_create(
        actor=None,
        organization=tenant.organization,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        **extra,
    )


def make_practitioner(user, **profile) -> Practitioner:
    membership = Membership.objects.get(user=user, role=Membership.Role.PRACTITIONER)
    return practitioner_profile_create(actor=None, membership=membership, **profile)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


NEW_PATIENT = {
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1956-12-09",
    "sex": "female",
    "phone": "0412 345 678",
    "email": "grace@example.test",
    "preferred_language": "en",
    "blood_type": "",
}


# --- Patient list ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "doctor", "admin"])
def test_clinic_members_see_only_their_own_organizations_patients(client, tenant_a, tenant_b, who):
    make_patient(tenant_a, "Ada", "Lovelace")
    make_patient(tenant_b, "Bertha", "Benz")
    client.force_login(getattr(tenant_a, who))
    html = client.get("/patients/").content.decode()
    assert "Lovelace, Ada" in html
    assert "Benz" not in html


def test_a_patient_is_refused_the_patient_directory(client, tenant_a):
    make_patient(tenant_a)
    client.force_login(tenant_a.patient)
    assert client.get("/patients/").status_code == 403
    assert client.get("/patients/new/").status_code == 403


def test_every_listed_patient_read_is_audited(client, tenant_a):
    ada = make_patient(tenant_a, "Ada", "Lovelace")
    alan = make_patient(tenant_a, "Alan", "Turing", born=date(1912, 6, 23))
    client.force_login(tenant_a.staff)
    client.get("/patients/")
    reads = AuditEvent.objects.filter(action="read", actor=tenant_a.staff)
    assert set(reads.values_list("patient_id", flat=True)) == {str(ada.pk), str(alan.pk)}


def test_patients_are_found_by_mrn_date_of_birth_and_name(client, tenant_a):
    ada = make_patient(tenant_a, "Ada", "Lovelace")
    make_patient(tenant_a, "Alan", "Turing", born=date(1912, 6, 23))
    client.force_login(tenant_a.staff)
    for query in (ada.mrn, "1985-12-10", "10/12/1985", "lovel", "ada LOVE"):
        page = client.get("/patients/", {"q": query}).context["page_obj"]
        assert [p.pk for p in page] == [ada.pk], query
    assert "No patient matches" in client.get("/patients/", {"q": "zzz"}).content.decode()


def test_inactive_patients_are_listed_only_when_asked(client, tenant_a):
    make_patient(tenant_a, "Ada", "Lovelace")
    gone = make_patient(tenant_a, "Alan", "Turing", born=date(1912, 6, 23))
    Patient.objects.filter(pk=gone.pk).update(is_active=False)
    client.force_login(tenant_a.staff)
    assert "Turing" not in client.get("/patients/").content.decode()
    assert "Turing" in client.get("/patients/", {"status": "inactive"}).content.decode()
    assert "Turing" in client.get("/patients/", {"status": "all"}).content.decode()


def test_list_shows_the_current_primary_nurse(client, tenant_a):
    patient = make_patient(tenant_a)
    nurse = make_practitioner(tenant_a.nurse, title="RN")
    care_team_assign(actor=None, patient=patient, practitioner=nurse, role="primary_nurse")
    client.force_login(tenant_a.staff)
    assert str(nurse) in client.get("/patients/").content.decode()


# --- Patient record ----------------------------------------------------------------------


def test_opening_a_record_shows_it_and_audits_the_read(client, tenant_a):
    patient = make_patient(tenant_a, allergies="Penicillin")
    client.force_login(tenant_a.doctor)
    response = client.get(f"/patients/{patient.pk}/")
    html = response.content.decode()
    assert patient.mrn in html and "Penicillin" in html
    assert AuditEvent.objects.filter(
        action="read", actor=tenant_a.doctor, patient_id=str(patient.pk)
    ).exists()


def test_a_record_of_another_organization_is_not_found(client, tenant_a, tenant_b):
    other = make_patient(tenant_b)
    client.force_login(tenant_a.admin)
    assert client.get(f"/patients/{other.pk}/").status_code == 404
    assert client.get(f"/patients/{other.pk}/edit/").status_code == 404


def test_later_tabs_show_an_available_soon_state(client, tenant_a):
    patient = make_patient(tenant_a)
    client.force_login(tenant_a.staff)
    html = client.get(f"/patients/{patient.pk}/", {"tab": "billing"}).content.decode()
    assert "Available soon" in html and 'aria-current="page"' in html


def test_editing_a_patient_changes_the_fields_and_audits_which(client, tenant_a):
    patient = make_patient(tenant_a, phone="0400 000 000")
    client.force_login(tenant_a.staff)
    form = client.get(f"/patients/{patient.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(phone="0499 111 222", city="Sydney", date_of_birth="1985-12-10")
    data["preferred_channels"] = ["sms"]
    response = client.post(f"/patients/{patient.pk}/edit/", data, follow=True)
    assert response.redirect_chain[-1][0] == f"/patients/{patient.pk}/"
    patient.refresh_from_db()
    assert (patient.phone, patient.city, patient.preferred_channels) == (
        "0499 111 222",
        "Sydney",
        ["sms"],
    )
    update = AuditEvent.objects.get(action="update", patient_id=str(patient.pk))
    assert update.details["fields"] == ["city", "phone", "preferred_channels"]


def test_an_invalid_edit_shows_the_services_error(client, tenant_a):
    patient = make_patient(tenant_a)
    client.force_login(tenant_a.staff)
    data = {**NEW_PATIENT, "given_name": "", "date_of_birth": "1985-12-10"}
    response = client.post(f"/patients/{patient.pk}/edit/", data)
    assert response.status_code == 200
    assert "given_name" in response.context["form"].errors


def test_only_admins_deactivate_a_patient(client, tenant_a):
    patient = make_patient(tenant_a)
    client.force_login(tenant_a.staff)
    assert "Yes, deactivate" not in client.get(f"/patients/{patient.pk}/").content.decode()
    assert client.post(f"/patients/{patient.pk}/deactivate/").status_code == 403
    patient.refresh_from_db()
    assert patient.is_active

    client.force_login(tenant_a.admin)
    assert "Yes, deactivate" in client.get(f"/patients/{patient.pk}/").content.decode()
    response = client.post(f"/patients/{patient.pk}/deactivate/", follow=True)
    patient.refresh_from_db()
    assert not patient.is_active
    assert "Inactive" in response.content.decode()


# --- Registration and duplicates ----------------------------------------------------------


def test_staff_registers_a_patient_and_lands_on_the_record(client, tenant_a):
    client.force_login(tenant_a.staff)
    response = client.post("/patients/new/", NEW_PATIENT, follow=True)
    patient = Patient.objects.get(family_name="Hopper")
    assert response.redirect_chain[-1][0] == f"/patients/{patient.pk}/"
    assert patient.organization == tenant_a.organization
    assert patient.mrn in response.content.decode()
    assert f"Grace Hopper is registered as {patient.mrn}." in messages_of(response)


def test_a_likely_duplicate_is_shown_and_can_be_created_anyway(client, tenant_a):
    existing = make_patient(
        tenant_a, "Grace", "Hopper", born=date(1956, 12, 9), phone="+61 412 345 678"
    )
    client.force_login(tenant_a.staff)
    response = client.post("/patients/new/", NEW_PATIENT)
    html = response.content.decode()
    assert response.status_code == 200
    assert "may already be registered" in html and existing.mrn in html
    assert f'href="/patients/{existing.pk}/"' in html and "Create anyway" in html
    assert Patient.objects.filter(family_name="Hopper").count() == 1

    response = client.post("/patients/new/", {**NEW_PATIENT, "allow_duplicate": "1"}, follow=True)
    created = Patient.objects.filter(family_name="Hopper").exclude(pk=existing.pk).get()
    assert response.redirect_chain[-1][0] == f"/patients/{created.pk}/"
    event = AuditEvent.objects.get(action="create", patient_id=str(created.pk))
    assert event.details == {"duplicate_override": [existing.pk]}


def test_registration_errors_are_shown_on_the_form(client, tenant_a):
    client.force_login(tenant_a.staff)
    response = client.post("/patients/new/", {**NEW_PATIENT, "email": "not-an-email"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not Patient.objects.exists()


# --- Care team ----------------------------------------------------------------------------


def test_assigning_a_primary_nurse_replaces_the_current_one(client, tenant_a):
    patient = make_patient(tenant_a)
    first = make_practitioner(tenant_a.nurse, title="RN")
    second = make_practitioner(tenant_a.doctor)
    care_team_assign(
        actor=None,
        patient=patient,
        practitioner=first,
        role="primary_nurse",
        start_date=date(2024, 1, 1),
    )
    client.force_login(tenant_a.staff)
    response = client.post(
        f"/patients/{patient.pk}/care-team/",
        {"practitioner": second.pk, "role": "primary_nurse"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/patients/{patient.pk}/#care-team", messages_of(
        response
    )
    current = CareTeamMember.objects.get(patient=patient, role="primary_nurse", end_date=None)
    assert current.practitioner == second
    assert CareTeamMember.objects.get(practitioner=first).end_date is not None
    assert response.context["care_team_past"][0].practitioner == first


def test_ending_a_care_team_role(client, tenant_a):
    patient = make_patient(tenant_a)
    nurse = make_practitioner(tenant_a.nurse)
    member = care_team_assign(
        actor=None,
        patient=patient,
        practitioner=nurse,
        role="primary_nurse",
        start_date=date(2024, 1, 1),
    )
    client.force_login(tenant_a.admin)
    client.post(f"/patients/{patient.pk}/care-team/{member.pk}/end/")
    member.refresh_from_db()
    assert member.end_date is not None


def test_practitioners_see_the_care_team_but_cannot_change_it(client, tenant_a):
    patient = make_patient(tenant_a)
    nurse = make_practitioner(tenant_a.nurse)
    client.force_login(tenant_a.doctor)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Care team" in html and "care-team/" not in html
    response = client.post(
        f"/patients/{patient.pk}/care-team/", {"practitioner": nurse.pk, "role": "other"}
    )
    assert response.status_code == 403
    assert not CareTeamMember.objects.exists()


def test_a_practitioner_of_another_organization_cannot_be_assigned(client, tenant_a, tenant_b):
    patient = make_patient(tenant_a)
    stranger = make_practitioner(tenant_b.nurse)
    client.force_login(tenant_a.staff)
    client.post(
        f"/patients/{patient.pk}/care-team/", {"practitioner": stranger.pk, "role": "other"}
    )
    assert not CareTeamMember.objects.exists()


# --- Practitioners ------------------------------------------------------------------------


def test_practitioners_list_filters_and_profile(client, tenant_a, tenant_b):
    location = location_save(
        actor=None, organization=tenant_a.organization, name="Main", time_zone="Australia/Sydney"
    )
    doctor = make_practitioner(
        tenant_a.doctor,
        title="Dr",
        specialization="Cardiology",
        languages=["en", "hi"],
        bio="Twenty years of hearts.",
        locations=[location],
    )
    nurse = make_practitioner(tenant_a.nurse, accepting_new_patients=False)
    make_practitioner(tenant_b.doctor, specialization="Dermatology")
    client.force_login(tenant_a.patient)
    html = client.get("/practitioners/").content.decode()
    assert "Cardiology" in html and "Dermatology" not in html
    doctors = client.get("/practitioners/", {"kind": "doctor"}).context["page_obj"]
    assert [p.pk for p in doctors] == [doctor.pk]
    accepting = client.get("/practitioners/", {"accepting": "no"}).context["page_obj"]
    assert [p.pk for p in accepting] == [nurse.pk]
    profile = client.get(f"/practitioners/{doctor.pk}/").content.decode()
    assert "Twenty years of hearts." in profile and "Main" in profile
    assert "Edit profile" not in profile


def test_admin_adds_a_practitioner_who_gets_an_invitation(
    client, tenant_a, django_capture_on_commit_callbacks
):
    from django.core import mail

    client.force_login(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/practitioners/new/",
            {
                "email": "new.doc@example.test",
                "first_name": "Nia",
                "last_name": "Okafor",
                "kind": "doctor",
                "title": "Dr",
                "specialization": "Paediatrics",
                "years_of_experience": "7",
                "consultation_fee": "80.00",
                "languages": "en, yo",
                "accepting_new_patients": "on",
            },
            follow=True,
        )
    practitioner = Practitioner.objects.get(user__email="new.doc@example.test")
    assert response.redirect_chain[-1][0] == f"/practitioners/{practitioner.pk}/"
    assert practitioner.languages == ["en", "yo"]
    assert [m.to for m in mail.outbox] == [["new.doc@example.test"]]


def test_admin_edits_and_deactivates_a_practitioner_others_cannot(client, tenant_a):
    practitioner = make_practitioner(tenant_a.doctor, specialization="GP")
    client.force_login(tenant_a.staff)
    assert client.get(f"/practitioners/{practitioner.pk}/edit/").status_code == 403
    assert client.post(f"/practitioners/{practitioner.pk}/deactivate/").status_code == 403

    client.force_login(tenant_a.admin)
    form = client.get(f"/practitioners/{practitioner.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(specialization="Sports medicine", languages="en", locations=[])
    data["accepting_new_patients"] = "on"
    client.post(f"/practitioners/{practitioner.pk}/edit/", data)
    practitioner.refresh_from_db()
    assert practitioner.specialization == "Sports medicine"

    client.post(f"/practitioners/{practitioner.pk}/deactivate/")
    practitioner.refresh_from_db()
    assert not practitioner.is_active


# --- Services, locations, resources --------------------------------------------------------


def test_admin_creates_a_service_with_a_resource_need(client, tenant_a):
    doctor = make_practitioner(tenant_a.doctor)
    client.force_login(tenant_a.admin)
    response = client.post(
        "/settings/services/new/",
        {
            "name": "MRI knee",
            "category": "radiology",
            "modality": "MR",
            "duration_minutes": "45",
            "buffer_before_minutes": "0",
            "buffer_after_minutes": "15",
            "price": "420.00",
            "tax_rate": "0",
            "practitioners": [doctor.pk],
            "resource_needs": ["scanner:MR", "room:"],
            "min_notice_minutes": "60",
            "booking_horizon_days": "90",
            "cancellation_window_hours": "24",
            "is_active": "on",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/settings/services/"
    service = Service.objects.get(name="MRI knee")
    assert service.organization == tenant_a.organization
    assert list(service.practitioners.all()) == [doctor]
    assert sorted(service.resource_needs.values_list("kind", "modality")) == [
        ("room", ""),
        ("scanner", "MR"),
    ]
    assert "Scanner · MRI" in response.content.decode()


def test_an_invalid_service_shows_errors_and_duplicate_names_are_refused(client, tenant_a):
    client.force_login(tenant_a.admin)
    base = {
        "name": "Consult",
        "category": "in_person",
        "duration_minutes": "30",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "price": "0",
        "tax_rate": "0",
        "min_notice_minutes": "60",
        "booking_horizon_days": "90",
        "cancellation_window_hours": "24",
    }
    response = client.post("/settings/services/new/", {**base, "duration_minutes": "2"})
    assert "duration_minutes" in response.context["form"].errors
    client.post("/settings/services/new/", base)
    response = client.post("/settings/services/new/", base)
    assert "name" in response.context["form"].errors
    assert Service.objects.filter(name="Consult").count() == 1


def test_admin_adds_a_location_and_a_resource(client, tenant_a):
    client.force_login(tenant_a.admin)
    client.post(
        "/settings/locations/new/",
        {"name": "Bondi", "time_zone": "Australia/Sydney", "is_active": "on"},
    )
    location = tenant_a.organization.locations.get(name="Bondi")
    client.post(
        "/settings/resources/new/",
        {"name": "Room 1", "kind": "room", "location": location.pk, "is_active": "on"},
    )
    assert tenant_a.organization.resources.get(name="Room 1").location == location
    client.post(
        f"/settings/locations/{location.pk}/",
        {"name": "Bondi Junction", "time_zone": "Australia/Sydney"},
    )
    location.refresh_from_db()
    assert (location.name, location.is_active) == ("Bondi Junction", False)


@pytest.mark.parametrize(
    "url", ["/settings/services/new/", "/settings/locations/new/", "/settings/resources/new/"]
)
@pytest.mark.parametrize("who", ["doctor", "staff", "patient"])
def test_only_admins_manage_the_catalogue(client, tenant_a, url, who):
    client.force_login(getattr(tenant_a, who))
    assert client.get(url).status_code == 403


def test_catalogue_of_another_organization_is_not_found(client, tenant_a, tenant_b):
    other = location_save(
        actor=None, organization=tenant_b.organization, name="Elsewhere", time_zone="UTC"
    )
    client.force_login(tenant_a.admin)
    assert client.get(f"/settings/locations/{other.pk}/").status_code == 404
    assert "Elsewhere" not in client.get("/settings/locations/").content.decode()


@pytest.mark.parametrize(
    ("who", "labels"),
    [
        ("admin", {"Patients", "Practitioners", "Services"}),
        ("staff", {"Patients", "Practitioners"}),
        ("patient", {"Practitioners"}),
    ],
)
def test_sidebar_shows_the_directory_to_the_right_roles(client, tenant_a, who, labels):
    client.force_login(getattr(tenant_a, who))
    nav = {item["label"] for item in client.get("/").context["nav_items"]}
    assert nav & {"Patients", "Practitioners", "Services"} == labels
