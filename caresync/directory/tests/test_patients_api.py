"""The seed 002 patient contract: MRNs, duplicates, search, who sees what, audited reads."""

from datetime import date

import pytest

from caresync.core.models import AuditEvent
from caresync.directory.models import Patient
from caresync.directory.services import patient_create

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


def test_staff_registers_a_patient_with_a_generated_mrn(api_as, tenant_a):
    response = api_as(tenant_a.staff).post(
        "/api/v1/patients/",
        {
            "given_name": "Grace",
            "family_name": "Hopper",
            "date_of_birth": "1956-12-09",
            "phone": "+61 412 345 678",
            "email": "Grace@Example.test",
            "preferred_channels": ["sms", "email"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mrn"] == "AC-000001"
    assert body["email"] == "grace@example.test"
    second = api_as(tenant_a.staff).post(
        "/api/v1/patients/",
        {"given_name": "Alan", "family_name": "Turing", "date_of_birth": "1954-06-23"},
        format="json",
    )
    assert second.json()["mrn"] == "AC-000002"
    assert AuditEvent.objects.filter(action="create", patient_id=str(body["id"])).exists()


def test_mrns_are_unique_per_organization_not_globally(tenant_a, tenant_b):
    first_a = make_patient(tenant_a)
    first_b = make_patient(tenant_b)
    assert first_a.mrn.endswith("000001") and first_b.mrn.endswith("000001")
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=make_patient(tenant_a, given="Bob").pk).update(mrn=first_a.mrn)


def test_likely_duplicate_answers_409_with_the_candidate(api_as, tenant_a):
    existing = make_patient(tenant_a, phone="0412 345 678")
    payload = {
        "given_name": "ADA",
        "family_name": "lovelace",
        "date_of_birth": "1985-12-10",
        "phone": "+61 412-345-678",
    }
    response = api_as(tenant_a.staff).post("/api/v1/patients/", payload, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_patient"
    assert error["candidates"][0]["id"] == existing.pk
    assert Patient.objects.count() == 1
    anyway = api_as(tenant_a.staff).post(
        "/api/v1/patients/", {**payload, "allow_duplicate": True}, format="json"
    )
    assert anyway.status_code == 201
    created = AuditEvent.objects.get(action="create", patient_id=str(anyway.json()["id"]))
    assert created.details["duplicate_override"] == [existing.pk]


def test_same_name_and_birthday_but_other_contact_is_not_a_duplicate(api_as, tenant_a):
    make_patient(tenant_a, email="ada@one.test")
    response = api_as(tenant_a.staff).post(
        "/api/v1/patients/",
        {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "email": "ada@two.test",
        },
        format="json",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("love", ["Lovelace"]),
        ("ada love", ["Lovelace"]),
        ("AC-000002", ["Turing"]),
        ("ac2", ["Turing"]),
        ("1985-12-10", ["Lovelace"]),
        ("10/12/1985", ["Lovelace"]),
        ("345 678", ["Lovelace"]),
        ("alan@", ["Turing"]),
        ("zzz", []),
        ("josé", ["Núñez"]),
    ],
)
def test_front_desk_search(api_as, tenant_a, tenant_b, query, expected):
    make_patient(tenant_a, phone="+61 412 345 678")
    make_patient(
        tenant_a, given="Alan", family="Turing", born=date(1954, 6, 23), email="alan@example.test"
    )
    make_patient(tenant_a, given="José", family="Núñez", born=date(1970, 1, 1))
    make_patient(tenant_b, phone="+61 412 345 678")  # never found from tenant A
    response = api_as(tenant_a.staff).get("/api/v1/patients/", {"q": query})
    assert [row["family_name"] for row in response.json()["results"]] == expected


def test_a_patient_sees_only_their_own_record(api_as, tenant_a):
    own = make_patient(tenant_a, user=tenant_a.patient)
    other = make_patient(tenant_a, given="Other", family="Person")
    listed = api_as(tenant_a.patient).get("/api/v1/patients/").json()["results"]
    assert [row["id"] for row in listed] == [own.pk]
    assert api_as(tenant_a.patient).get(f"/api/v1/patients/{other.pk}/").status_code == 404


def test_foreign_patient_is_404(api_as, tenant_a, tenant_b):
    foreign = make_patient(tenant_b)
    assert api_as(tenant_a.doctor).get(f"/api/v1/patients/{foreign.pk}/").status_code == 404


def test_list_and_detail_reads_are_audited_per_patient(api_as, tenant_a):
    ada = make_patient(tenant_a)
    alan = make_patient(tenant_a, given="Alan", family="Turing")
    api_as(tenant_a.nurse).get("/api/v1/patients/")
    reads = AuditEvent.objects.filter(action="read", actor=tenant_a.nurse)
    assert set(reads.values_list("patient_id", flat=True)) == {str(ada.pk), str(alan.pk)}
    api_as(tenant_a.nurse).get(f"/api/v1/patients/{ada.pk}/")
    assert reads.filter(patient_id=str(ada.pk)).count() == 2


def test_update_records_which_fields_changed(api_as, tenant_a):
    ada = make_patient(tenant_a)
    response = api_as(tenant_a.staff).patch(
        f"/api/v1/patients/{ada.pk}/",
        {"allergies": "Penicillin", "phone": "+61 400 111 222"},
        format="json",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="update", patient_id=str(ada.pk)).get()
    assert event.details["fields"] == ["allergies", "phone"]
    assert "Penicillin" not in str(event.details)


def test_invalid_values_change_nothing(api_as, tenant_a):
    ada = make_patient(tenant_a)
    response = api_as(tenant_a.staff).patch(
        f"/api/v1/patients/{ada.pk}/",
        {"date_of_birth": "not-a-date", "preferred_channels": ["pigeon"], "mrn": "X"},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"date_of_birth", "preferred_channels"} <= set(fields)
    ada.refresh_from_db()
    assert ada.date_of_birth == date(1985, 12, 10)


def test_delete_deactivates_and_only_admins_may(api_as, tenant_a):
    ada = make_patient(tenant_a)
    assert api_as(tenant_a.staff).delete(f"/api/v1/patients/{ada.pk}/").status_code == 403
    assert api_as(tenant_a.admin).delete(f"/api/v1/patients/{ada.pk}/").status_code == 204
    ada.refresh_from_db()
    assert ada.is_active is False
    assert Patient.objects.filter(pk=ada.pk).exists()


def test_care_team_primary_nurse_is_replaced_not_doubled(api_as, tenant_a):
    from caresync.directory.services import practitioner_profile_create

    first = practitioner_profile_create(actor=None, membership=tenant_a.nurse.memberships.get())
    second = practitioner_profile_create(actor=None, membership=tenant_a.doctor.memberships.get())
    ada = make_patient(tenant_a)
    client = api_as(tenant_a.admin)
    for practitioner in (first, second):
        response = client.post(
            f"/api/v1/patients/{ada.pk}/care-team/",
            {"practitioner": practitioner.pk, "role": "primary_nurse"},
            format="json",
        )
        assert response.status_code == 201, response.content
    current = client.get(f"/api/v1/patients/{ada.pk}/care-team/", {"current": "true"}).json()
    assert [m["practitioner"] for m in current] == [second.pk]
    assert len(client.get(f"/api/v1/patients/{ada.pk}/care-team/").json()) == 2


def test_practitioner_opens_break_glass_with_a_reason(api_as, tenant_a):
    ada = make_patient(tenant_a)
    client = api_as(tenant_a.doctor)
    refused = client.post(f"/api/v1/patients/{ada.pk}/break-glass/", {"reason": "x"}, format="json")
    assert refused.status_code == 400
    response = client.post(
        f"/api/v1/patients/{ada.pk}/break-glass/",
        {"reason": "Collapsed in the waiting room, no records at hand"},
        format="json",
    )
    assert response.status_code == 201
    assert AuditEvent.objects.filter(action="break_glass", patient_id=str(ada.pk)).exists()
    assert (
        api_as(tenant_a.staff)
        .post(
            f"/api/v1/patients/{ada.pk}/break-glass/",
            {"reason": "Curious about this patient"},
            format="json",
        )
        .status_code
        == 403
    )
